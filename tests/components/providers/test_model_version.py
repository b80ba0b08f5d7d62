"""The ModelVersion dynamic provider, called directly against a real moto S3 server on 127.0.0.1.

Dynamic providers are not invoked under Pulumi's mocks, so these tests call check/diff/
create/update/delete the way the engine does, with props as they cross the wire (every
number a float) and with the resource's state fed back in.
"""

from __future__ import annotations

import base64
import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi.dynamic
import pytest

from components.providers.model_version import PROVIDER_VERSION, ModelVersionArgs, ModelVersionProvider
from samples import make_samples
from tests.support import servers
from tests.support.fakes import provider_props, wire_floats
from tests.support.providers import unpickled_class
from tests.support.stacks import REPO
from triton_platform.publisher import pipeline
from triton_platform.publisher.builders import BuilderRef
from triton_platform.publisher.errors import PublisherError
from triton_platform.publisher.spec import ModelSpec
from triton_platform.publisher.stores import StoreRef, open_store

# A secret key no output may ever contain (moto accepts any key pair).
SECRET_KEY = f"test-secret-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def moto() -> Iterator[servers.S3Endpoint]:
    try:
        with servers.moto_server() as endpoint:
            yield servers.S3Endpoint(endpoint.url, access_key="AKIATESTPROVIDER", secret_key=SECRET_KEY)
    except servers.ServerUnavailable as exc:
        # The test command installs it: missing means a broken setup, never a silent skip.
        pytest.fail(f"moto server unavailable: {exc}")


@pytest.fixture
def env(moto: servers.S3Endpoint, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> servers.S3Endpoint:
    for key, value in moto.env().items():
        monkeypatch.setenv(key, value)
    # The fingerprint cache must not touch the user's ~/.cache.
    monkeypatch.setenv("TRITON_PLATFORM_CACHE_DIR", str(tmp_path / "hash-cache"))
    return moto


@pytest.fixture
def store_ref(env: servers.S3Endpoint) -> dict[str, Any]:
    bucket = f"t-{uuid.uuid4().hex[:16]}"
    servers.create_bucket(env, bucket)
    return {"kind": "s3", "bucket": bucket, "prefix": "models", "endpoint_url": env.url, "region": env.region}


def _onnx_source(base: Path, seed: int) -> Path:
    make_samples.write_mlp(base / "mlp.onnx", seed)
    return base / "mlp.onnx"


def _keys(store: dict[str, Any]) -> list[str]:
    return [o.key for o in open_store(StoreRef.model_validate(store)).list("")]


def _config(store: dict[str, Any], model: str) -> str:
    data = open_store(StoreRef.model_validate(store)).read_bytes(f"models/{model}/config.pbtxt")
    assert data is not None, f"models/{model}/config.pbtxt is missing"
    return data.decode()


def _served(store: dict[str, Any], model: str) -> list[int]:
    from triton_platform.publisher.pbtxt import parse_config

    return list(parse_config(_config(store, model)).version_policy.specific.versions)


MLP = ModelSpec(name="mlp", source="mlp.onnx", format="onnx", max_batch_size=8)


# --- check ---------------------------------------------------------------------------------------


def test_check_names_the_bad_key(tmp_path: Path) -> None:
    props = ModelVersionArgs(
        spec=MLP, store={"kind": "s3", "bucket": "models-bucket"}, source_fingerprint="0" * 64
    ).props()
    props["spec"] = {**props["spec"], "maxBatchSize": -1}
    props["store"] = {"kind": "s3", "bucket": "Not_A_Bucket"}
    failures = ModelVersionProvider().check({}, props).failures
    by_key = {f.property: f.reason for f in failures}
    assert "spec.maxBatchSize" in by_key, by_key
    assert "greater than or equal to 0" in by_key["spec.maxBatchSize"]
    assert "store" in by_key
    assert "Not_A_Bucket" in by_key["store"]
    assert "valid example" in by_key["store"]


def test_check_requires_fingerprint_and_engine_targets() -> None:
    provider = ModelVersionProvider()
    props = ModelVersionArgs(spec=MLP, store={"kind": "s3", "bucket": "models-bucket"}, source_fingerprint="x").props()
    del props["source_fingerprint"]
    assert [f.property for f in provider.check({}, props).failures] == ["source_fingerprint"]

    trt = ModelSpec(name="mlp", source="mlp.onnx", format="tensorrt", max_batch_size=8)
    props = ModelVersionArgs(spec=trt, store={"kind": "s3", "bucket": "models-bucket"}, source_fingerprint="x").props()
    reasons = " ".join(f.reason for f in provider.check({}, props).failures)
    assert "compute capability" in reasons


def test_check_accepts_float_props_and_unknowns() -> None:
    from pulumi.runtime import rpc

    spec = ModelSpec.model_validate({**MLP.model_dump(), "version_policy": {"latest": 2}, "instance_count": 2})
    props = ModelVersionArgs(spec=spec, store={"kind": "s3", "bucket": "models-bucket"}, source_fingerprint="f").props()
    floated = wire_floats(props)
    assert floated["spec"]["maxBatchSize"] == 8.0
    result = ModelVersionProvider().check({}, floated)
    assert result.failures == []
    assert pipeline.parse_request(floated) == pipeline.parse_request(props)
    assert pipeline.parse_request(floated).spec.version_policy.latest == 2

    # A preview with the bucket still unknown: nothing to validate yet, no failure.
    props["store"] = rpc.UNKNOWN
    assert ModelVersionProvider().check({}, props).failures == []


# --- diff ----------------------------------------------------------------------------------------


def _diff(olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
    return ModelVersionProvider().diff("id", wire_floats(olds), news)


def test_diff_no_change_update_and_replace() -> None:
    store = {"kind": "s3", "bucket": "models-bucket", "endpoint_url": "http://127.0.0.1:9000"}
    base = ModelVersionArgs(spec=MLP, store=store, source_fingerprint="a" * 64, base_dir="/one").props()

    same = _diff(base, dict(base))
    assert same.changes is False
    assert same.replaces == []

    # Another checkout (base_dir, relative source) or another builder: same bytes, no new version.
    moved = {
        **base,
        "base_dir": "/two",
        "spec": {**base["spec"], "source": "other/mlp.onnx"},
        "builder": {"kind": "kubernetes", "kubeconfig_path": "/k"},
    }
    assert _diff(base, moved).changes is False
    # Engine inputs do not matter for an ONNX model.
    assert _diff(base, {**base, "ngc_release": "24.12", "tensorrt_version": "10.7.0"}).changes is False

    for news in (
        {**base, "source_fingerprint": "b" * 64},
        {**base, "spec": {**base["spec"], "instanceCount": 2}},
        {**base, "instance_kind": "KIND_GPU"},
        {**base, "provider_version": PROVIDER_VERSION + "-next"},
        {**base, "store": {**store, "region": "eu-west-1"}},
    ):
        result = _diff(base, news)
        assert result.changes is True, news
        assert result.replaces == [], news

    bucket = _diff(base, {**base, "store": {**store, "bucket": "other-bucket"}})
    assert bucket.changes is True
    assert bucket.replaces == ["store"]
    assert bucket.delete_before_replace is False
    prefix = _diff(base, {**base, "store": {**store, "prefix": "serving"}})
    assert prefix.replaces == ["store"]
    renamed = _diff(base, {**base, "spec": {**base["spec"], "name": "mlp2"}})
    assert renamed.replaces == ["spec"]


def test_diff_engine_inputs_matter_for_tensorrt() -> None:
    trt = ModelSpec(name="mlp", source="mlp.onnx", format="tensorrt", max_batch_size=8)
    base = ModelVersionArgs(
        spec=trt,
        store={"kind": "s3", "bucket": "models-bucket"},
        source_fingerprint="a" * 64,
        compute_capabilities=["8.0"],
        instance_kind="KIND_GPU",
    ).props()
    assert _diff(base, dict(base)).changes is False
    assert _diff(base, {**base, "compute_capabilities": ["8.0", "9.0"]}).changes is True
    assert _diff(base, {**base, "ngc_release": "24.12", "tensorrt_version": "10.7.0"}).changes is True


def test_diff_with_unknown_inputs_expects_an_update() -> None:
    from pulumi.runtime import rpc

    base = ModelVersionArgs(spec=MLP, store={"kind": "s3", "bucket": "b-bucket"}, source_fingerprint="a" * 64).props()
    result = _diff(base, {**base, "store": {**base["store"], "bucket": rpc.UNKNOWN}})
    assert result.changes is True


# --- create / update / delete against moto ---------------------------------------------------------


@pytest.mark.integration
def test_create_publishes_version_1_and_same_inputs_diff_clean(store_ref: dict[str, Any], tmp_path: Path) -> None:
    _onnx_source(tmp_path, seed=1)
    props = provider_props(MLP, store_ref, tmp_path)
    provider = ModelVersionProvider()
    created = provider.create(wire_floats(props))
    outs = created.outs
    assert outs is not None
    assert created.id == f"s3://{store_ref['bucket']}/models/mlp"
    assert outs["version"] == 1
    assert outs["published_versions"] == [1]
    assert outs["repository_path"] == "models/mlp"
    assert [f["path"] for f in outs["files"]] == ["model.onnx"]
    assert outs["bytes_uploaded"] == (tmp_path / "mlp.onnx").stat().st_size
    assert _served(store_ref, "mlp") == [1]
    assert "models/mlp/1/model.onnx" in _keys(store_ref)
    # Every declared output is set, and the inputs are kept for the next diff.
    for key in ("version", "files", "config_sha256", "engine_objects", "published_versions", "seconds"):
        assert key in outs
    assert provider.diff(created.id, wire_floats(outs), provider_props(MLP, store_ref, tmp_path)).changes is False


@pytest.mark.integration
def test_update_with_new_bytes_serves_only_version_2(store_ref: dict[str, Any], tmp_path: Path) -> None:
    _onnx_source(tmp_path, seed=1)
    provider = ModelVersionProvider()
    created = provider.create(provider_props(MLP, store_ref, tmp_path))
    assert created.outs is not None

    _onnx_source(tmp_path, seed=2)
    news = provider_props(MLP, store_ref, tmp_path)
    assert provider.diff(created.id, wire_floats(created.outs), news).changes is True
    updated = provider.update(created.id, wire_floats(created.outs), wire_floats(news)).outs
    assert updated is not None
    assert updated["version"] == 2
    assert updated["published_versions"] == [2]
    assert _served(store_ref, "mlp") == [2]
    keys = _keys(store_ref)
    assert "models/mlp/2/model.onnx" in keys
    assert not [k for k in keys if k.startswith("models/mlp/1/")], keys  # retired by latest: 1


@pytest.mark.integration
def test_update_with_latest_2_keeps_both(store_ref: dict[str, Any], tmp_path: Path) -> None:
    spec = ModelSpec.model_validate({**MLP.model_dump(), "version_policy": {"latest": 2}})
    _onnx_source(tmp_path, seed=1)
    provider = ModelVersionProvider()
    created = provider.create(provider_props(spec, store_ref, tmp_path)).outs
    assert created is not None
    _onnx_source(tmp_path, seed=2)
    second = provider.update("id", wire_floats(created), wire_floats(provider_props(spec, store_ref, tmp_path))).outs
    assert second is not None
    assert second["version"] == 2
    assert sorted(second["published_versions"]) == [1, 2]
    assert _served(store_ref, "mlp") == [1, 2]
    _onnx_source(tmp_path, seed=3)
    third = provider.update("id", wire_floats(second), wire_floats(provider_props(spec, store_ref, tmp_path))).outs
    assert third is not None
    assert third["version"] == 3
    assert sorted(third["published_versions"]) == [2, 3]
    assert _served(store_ref, "mlp") == [2, 3]
    assert not [k for k in _keys(store_ref) if k.startswith("models/mlp/1/")]


@pytest.mark.integration
def test_delete_removes_only_what_it_published(store_ref: dict[str, Any], tmp_path: Path) -> None:
    _onnx_source(tmp_path, seed=1)
    provider = ModelVersionProvider()
    created = provider.create(provider_props(MLP, store_ref, tmp_path)).outs
    assert created is not None
    store = open_store(StoreRef.model_validate(store_ref))
    foreign = ["models/mlp/README.md", "models/mlp/7/model.onnx", "models/other/config.pbtxt", "elsewhere/x.bin"]
    for key in foreign:
        store.upload_bytes(key, b"someone else's")
    provider.delete("id", wire_floats(created))
    keys = _keys(store_ref)
    assert sorted(k for k in keys if not k.startswith("_cache/")) == sorted(foreign)
    assert not [k for k in keys if k.startswith("_cache/manifests/mlp/1")]


@pytest.mark.integration
def test_delete_keeps_a_config_someone_rewrote(store_ref: dict[str, Any], tmp_path: Path) -> None:
    _onnx_source(tmp_path, seed=1)
    provider = ModelVersionProvider()
    created = provider.create(provider_props(MLP, store_ref, tmp_path)).outs
    assert created is not None
    store = open_store(StoreRef.model_validate(store_ref))
    store.upload_bytes("models/mlp/config.pbtxt", b'name: "mlp"\n')
    provider.delete("id", created)
    assert _keys(store_ref).count("models/mlp/config.pbtxt") == 1
    assert not [k for k in _keys(store_ref) if k.startswith("models/mlp/1/")]


@pytest.mark.integration
def test_interrupted_update_keeps_serving_and_resumes(
    store_ref: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from triton_platform.publisher.stores.s3 import S3Store

    spec = ModelSpec(name="pymlp", source="pymlp", format="python", max_batch_size=8)
    source = tmp_path / "pymlp"
    source.mkdir()
    shutil.copy(REPO / "samples" / "python-onnx" / "model.py", source / "model.py")
    make_samples.write_mlp(source / "model.onnx", 1)
    provider = ModelVersionProvider()
    created = provider.create(provider_props(spec, store_ref, tmp_path)).outs
    assert created is not None
    config_v1 = _config(store_ref, "pymlp")

    make_samples.write_mlp(source / "model.onnx", 2)
    news = provider_props(spec, store_ref, tmp_path)
    real_put = S3Store._put_file
    calls: list[str] = []

    def failing_put(self: S3Store, key: str, path: Path, **kwargs: Any) -> None:
        calls.append(key)
        if len(calls) == 2:  # the first file made it, the second dies mid-way
            kwargs["advance"](100)
            raise ConnectionResetError("injected: connection reset during upload")
        real_put(self, key, path, **kwargs)

    monkeypatch.setattr(S3Store, "_put_file", failing_put)
    with pytest.raises(PublisherError) as err:
        provider.update("id", created, news)
    message = str(err.value)
    assert "pymlp" in message
    assert "injected" in message
    assert "previously published version keeps serving" in message
    assert _config(store_ref, "pymlp") == config_v1  # Triton still serves version 1 only
    assert any(k.startswith("_cache/pending/pymlp/") for k in _keys(store_ref))

    monkeypatch.setattr(S3Store, "_put_file", real_put)
    updated = provider.update("id", created, news).outs
    assert updated is not None
    assert updated["version"] == 2
    assert _served(store_ref, "pymlp") == [2]
    keys = _keys(store_ref)
    assert sorted(k for k in keys if k.startswith("models/pymlp/")) == [
        "models/pymlp/2/model.onnx",
        "models/pymlp/2/model.py",
        "models/pymlp/config.pbtxt",
    ]
    assert not any(k.startswith("_cache/pending/") for k in keys)


@pytest.mark.integration
def test_outputs_and_provider_carry_no_credentials(
    env: servers.S3Endpoint, store_ref: dict[str, Any], tmp_path: Path
) -> None:
    from pulumi.dynamic.dynamic import serialize_provider

    _onnx_source(tmp_path, seed=1)
    provider = ModelVersionProvider()
    props = provider_props(MLP, store_ref, tmp_path)
    outs = provider.create(props).outs
    text = json.dumps([props, outs])
    assert env.secret_key not in text
    assert env.access_key not in text

    serialized = serialize_provider(provider)
    assert env.secret_key.encode() not in base64.b64decode(serialized)
    # The provider unpickles in a fresh interpreter started from the project root, as the
    # dynamic-provider process does.
    assert unpickled_class(serialized) == "components.providers.model_version.ModelVersionProvider"


@pytest.mark.integration
def test_remote_source_uri_is_fingerprinted_and_published(store_ref: dict[str, Any], tmp_path: Path) -> None:
    store = open_store(StoreRef.model_validate(store_ref))
    onnx_file = _onnx_source(tmp_path, seed=5)
    store.upload_file("incoming/mlp.onnx", onnx_file)
    spec = ModelSpec(name="remote", source=f"s3://{store_ref['bucket']}/incoming/mlp.onnx", format="onnx")
    first = pipeline.source_fingerprint(spec, tmp_path, StoreRef.model_validate(store_ref))
    props = ModelVersionArgs(spec=spec, store=store_ref, source_fingerprint=first, base_dir=str(tmp_path)).props()
    outs = ModelVersionProvider().create(props).outs
    assert outs is not None
    assert outs["files"][0]["sha256"] == pipeline.fingerprint.file_sha256(onnx_file)

    store.upload_file("incoming/mlp.onnx", _onnx_source(tmp_path / "v2", seed=6))
    assert pipeline.source_fingerprint(spec, tmp_path, StoreRef.model_validate(store_ref)) != first


@pytest.mark.integration
def test_delete_after_the_bucket_is_gone_succeeds(store_ref: dict[str, Any], tmp_path: Path) -> None:
    _onnx_source(tmp_path, seed=1)
    outs = ModelVersionProvider().create(provider_props(MLP, store_ref, tmp_path)).outs
    assert outs is not None
    gone = {**outs, "store": {**store_ref, "bucket": f"gone-{uuid.uuid4().hex[:12]}"}}
    ModelVersionProvider().delete("id", gone)


class _RecordingBuilder:
    """A test EngineBuilder: writes a stand-in engine where a real builder would put one."""

    def __init__(self) -> None:
        self.built: list[str] = []

    def build(self, job: Any, store: Any, progress: Any) -> None:
        if store.stat(job.engine_object) is not None:
            return  # content-addressed, like the real builders
        self.built.append(job.compute_capability)
        store.upload_bytes(job.engine_object, f"engine {job.key} sm{job.compute_capability}".encode())


@pytest.mark.integration
def test_tensorrt_engines_per_compute_capability(store_ref: dict[str, Any], tmp_path: Path) -> None:
    from triton_platform.publisher.pbtxt import parse_config

    onnx_file = _onnx_source(tmp_path, seed=1)
    spec = ModelSpec(name="engine", source="mlp.onnx", format="tensorrt", precision="fp16", max_batch_size=8)
    request = pipeline.PublishRequest(
        spec=spec,
        store=StoreRef.model_validate(store_ref),
        builder=BuilderRef(kind="kubernetes", kubeconfig_path="/nonexistent/kubeconfig"),
        compute_capabilities=["8.0", "9.0"],
        source_fingerprint=pipeline.source_fingerprint(spec, tmp_path),
        base_dir=str(tmp_path),
    )
    builder = _RecordingBuilder()
    state = pipeline.publish(request, builder=builder)
    assert builder.built == ["8.0", "9.0"]
    assert sorted(state.engine_objects) == ["8.0", "9.0"]
    assert all(k.startswith("_cache/engines/engine/") for k in state.engine_objects.values())
    assert sorted(f.path for f in state.files) == ["model.sm80.plan", "model.sm90.plan"]
    config = parse_config(_config(store_ref, "engine"))
    assert config.platform == "tensorrt_plan"
    assert dict(config.cc_model_filenames) == {"8.0": "model.sm80.plan", "9.0": "model.sm90.plan"}
    assert config.instance_group[0].kind == config.instance_group[0].KIND_GPU
    # The Kubernetes builder fetches the ONNX from the bucket: it is there, content-addressed.
    onnx_sha = pipeline.fingerprint.file_sha256(onnx_file)
    assert f"_cache/onnx/{onnx_sha}.onnx" in _keys(store_ref)

    # Same ONNX and options: nothing is built again.
    again = pipeline.publish(request, previous=state, builder=builder)
    assert builder.built == ["8.0", "9.0"]
    assert again.engine_objects == state.engine_objects
    assert again.version == 2


@pytest.mark.integration
def test_tensorrt_single_architecture_is_model_plan(store_ref: dict[str, Any], tmp_path: Path) -> None:
    from triton_platform.publisher.pbtxt import parse_config

    _onnx_source(tmp_path, seed=1)
    spec = ModelSpec(name="engine1", source="mlp.onnx", format="tensorrt", max_batch_size=8)
    request = pipeline.PublishRequest(
        spec=spec,
        store=StoreRef.model_validate(store_ref),
        compute_capabilities=["8.6"],
        source_fingerprint=pipeline.source_fingerprint(spec, tmp_path),
        base_dir=str(tmp_path),
    )
    state = pipeline.publish(request, builder=_RecordingBuilder())
    assert [f.path for f in state.files] == ["model.plan"]
    config = parse_config(_config(store_ref, "engine1"))
    assert not config.cc_model_filenames
    # The local builder reads the ONNX from disk: nothing uploaded to the ONNX cache.
    assert not [k for k in _keys(store_ref) if k.startswith("_cache/onnx/")]


def test_builder_ref_from_stack_settings_makes_a_builder_without_a_cluster() -> None:
    from triton_platform.publisher.builders import KubernetesJobBuilder, LocalTensorRTBuilder, open_builder
    from triton_platform.publisher.wire import restore_ints

    settings = {
        "kind": "kubernetes",
        "kubeconfig_path": "/nonexistent/kubeconfig",
        "namespace": "triton",
        "service_account": "triton-engine-builder",
        "node_selector": {"nvidia.com/gpu.product": "A100-SXM4-40GB"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "resources": {"nvidia.com/gpu": 1},
        "pod_labels": {"azure.workload.identity/use": "true"},
        "timeout_seconds": 1800.0,
    }
    ref = BuilderRef.model_validate(restore_ints(settings))
    builder = open_builder(ref)
    assert isinstance(builder, KubernetesJobBuilder)
    assert builder.namespace == "triton"
    assert builder.ref.node_selector == settings["node_selector"]
    assert isinstance(open_builder(BuilderRef()), LocalTensorRTBuilder)
    with pytest.raises(ValueError, match="kubeconfig_path"):
        BuilderRef(kind="kubernetes")


# --- delete with modelRepository.retainOnDelete false (issue 7, item 4) -----------------------------
# With retention on, the engine never calls delete (ModelPublisher sets Pulumi's retainOnDelete
# option: tests/components/publisher/test_model_publisher.py). Off, delete must remove only what this stack
# published. Triton serves, per model directory, the versions its config.pbtxt names
# (version_policy specific; model_config.proto), so another stack's config and version
# directories are what must survive.

OWNER_A = "triton-platform/stack-a/stack-a-models-mlp"
OWNER_B = "triton-platform/stack-b/stack-b-models-mlp"


def _in_flight(store_ref: dict[str, Any], model: str, version: int, owner: str) -> list[str]:
    """Another stack half-way through publishing ``version``: its pending marker and one file, no config yet."""
    store = open_store(StoreRef.model_validate(store_ref))
    marker = f"_cache/pending/{model}/{version}.json"
    store.upload_bytes(marker, json.dumps({"model": model, "version": version, "owner": owner}).encode())
    data = f"{model}/{version}/model.onnx"
    store.upload_bytes(f"models/{data}", b"another stack's bytes, upload in progress")
    return [marker, f"models/{data}"]


@pytest.mark.integration
def test_delete_leaves_a_newer_version_another_stack_is_publishing(store_ref: dict[str, Any], tmp_path: Path) -> None:
    _onnx_source(tmp_path, seed=1)
    provider = ModelVersionProvider()
    created = provider.create(provider_props(MLP, store_ref, tmp_path, owner=OWNER_A)).outs
    assert created is not None
    assert created["version"] == 1
    theirs = _in_flight(store_ref, "mlp", 2, OWNER_B)
    provider.delete("id", wire_floats(created))
    keys = _keys(store_ref)
    assert set(theirs) <= set(keys), "stack A's delete removed stack B's publish in progress"
    assert not [k for k in keys if k.startswith("models/mlp/1/")]
    assert "models/mlp/config.pbtxt" not in keys  # ours, unchanged: removed first


@pytest.mark.integration
def test_update_never_resumes_or_takes_another_stacks_pending_version(
    store_ref: dict[str, Any], tmp_path: Path
) -> None:
    _onnx_source(tmp_path, seed=1)
    provider = ModelVersionProvider()
    created = provider.create(provider_props(MLP, store_ref, tmp_path, owner=OWNER_A)).outs
    assert created is not None
    theirs = _in_flight(store_ref, "mlp", 2, OWNER_B)
    _onnx_source(tmp_path, seed=2)
    news = provider_props(MLP, store_ref, tmp_path, owner=OWNER_A)
    updated = provider.update("id", wire_floats(created), news).outs
    assert updated is not None
    # Version 2 is someone else's: A publishes 3 and leaves 2 exactly as it was.
    assert updated["version"] == 3
    assert _served(store_ref, "mlp") == [3]
    store = open_store(StoreRef.model_validate(store_ref))
    assert store.read_bytes(theirs[1]) == b"another stack's bytes, upload in progress"
    assert set(theirs) <= set(_keys(store_ref))


@pytest.mark.integration
def test_destroying_one_stack_leaves_the_other_stacks_models(store_ref: dict[str, Any], tmp_path: Path) -> None:
    # Two stacks publish into one bucket and prefix (modelRepository.bucket and .prefix shared).
    _onnx_source(tmp_path, seed=1)
    provider = ModelVersionProvider()
    ours = provider.create(provider_props(MLP, store_ref, tmp_path, owner=OWNER_A)).outs
    other = ModelSpec(name="mlp-b", source="mlp.onnx", format="onnx", max_batch_size=8)
    theirs = provider.create(provider_props(other, store_ref, tmp_path, owner=OWNER_B)).outs
    assert ours is not None
    assert theirs is not None
    before = {k for k in _keys(store_ref) if k.startswith("models/mlp-b/") or "/mlp-b/" in k}
    provider.delete("id", wire_floats(ours))
    keys = set(_keys(store_ref))
    assert before <= keys
    assert _served(store_ref, "mlp-b") == [1]
    assert not [k for k in keys if k.startswith("models/mlp/")]
    # The cache is content-addressed and shared (engines, ONNX): a delete leaves it.
    assert not [k for k in keys if k.startswith("_cache/manifests/mlp/")]


@pytest.mark.integration
def test_replace_by_rename_deletes_the_old_model_not_the_new(store_ref: dict[str, Any], tmp_path: Path) -> None:
    # A rename is a replace (diff: replaces ['spec']), create-before-delete: the new one first.
    _onnx_source(tmp_path, seed=1)
    provider = ModelVersionProvider()
    old = provider.create(provider_props(MLP, store_ref, tmp_path, owner=OWNER_A)).outs
    renamed = ModelSpec(name="mlp2", source="mlp.onnx", format="onnx", max_batch_size=8)
    new = provider.create(provider_props(renamed, store_ref, tmp_path, owner=OWNER_A)).outs
    assert old is not None
    assert new is not None
    provider.delete("old-id", wire_floats(old))
    keys = set(_keys(store_ref))
    assert {"models/mlp2/config.pbtxt", "models/mlp2/1/model.onnx"} <= keys
    assert _served(store_ref, "mlp2") == [1]
    assert not [k for k in keys if k.startswith("models/mlp/")]


# --- where this machine finds credentials (issue 7, item 7) ---------------------------------------


def test_diff_ignores_where_this_machine_finds_credentials() -> None:
    # The kubeconfig path differs between the first machine, a teammate's checkout and a CI runner;
    # the bytes published do not, so no new version is published for it.
    def store(path: str, kind_cluster: str | None) -> dict[str, Any]:
        credentials: dict[str, Any] = {
            "source": "kubernetes-secret",
            "kubeconfig_path": path,
            "namespace": "minio",
            "name": "minio-root",
        }
        if kind_cluster:
            credentials["kind_cluster"] = kind_cluster
        return {
            "kind": "s3",
            "bucket": "models-bucket",
            "endpoint_url": "http://127.0.0.1:9000",
            "credentials": credentials,
        }

    first = ModelVersionArgs(
        spec=MLP, store=store("/home/ann/triton/.state/kind-dev.kubeconfig", None), source_fingerprint="a" * 64
    ).props()
    runner = {**first, "store": store("/builds/ci/triton/.state/kind-dev.kubeconfig", "dev")}
    assert _diff(first, runner).changes is False
    # Which Secret holds the keys still matters.
    moved = {**first, "store": {**first["store"], "credentials": {**first["store"]["credentials"], "name": "other"}}}
    assert _diff(first, moved).changes is True
