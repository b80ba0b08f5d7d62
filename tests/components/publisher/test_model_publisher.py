"""ModelPublisher under Pulumi's mock runtime: one ModelVersion per model, wired as the contract says."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pydantic import ValidationError

from components.providers.model_version import PROVIDER_VERSION
from components.publisher.model_publisher import ModelPublisher, ModelPublisherArgs
from samples import make_samples
from tests.support.pulumi_mocks import RecordingMocks
from tests.support.stacks import REPO
from triton_platform.publisher import fingerprint
from triton_platform.publisher.builders import BuilderRef
from triton_platform.publisher.spec import ModelSpec
from triton_platform.publisher.stores import StoreRef

MODEL_VERSION_TYPE = "pulumi-python:dynamic/triton:ModelVersion"
STORE = {
    "kind": "s3",
    "bucket": "acme-triton-models",
    "prefix": "models",
    "endpoint_url": "http://127.0.0.1:9000",
    "credentials": {
        "source": "kubernetes-secret",
        "kubeconfig_path": "/tmp/kind.kubeconfig",
        "namespace": "minio",
        "name": "minio-root",
    },
}


@pytest.fixture
def sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRITON_PLATFORM_CACHE_DIR", str(tmp_path / "hash-cache"))
    make_samples.write_mlp(tmp_path / "mlp.onnx", 1)
    (tmp_path / "pyonnx").mkdir()
    shutil.copy(REPO / "samples" / "python-onnx" / "model.py", tmp_path / "pyonnx" / "model.py")
    make_samples.write_mlp(tmp_path / "pyonnx" / "model.onnx", 2)
    return tmp_path


def _models() -> list[ModelSpec]:
    return [
        ModelSpec(name="mlp", source="mlp.onnx", format="onnx"),
        ModelSpec(name="pyonnx", source="pyonnx", format="python"),
    ]


@pulumi.runtime.test
def test_one_model_version_per_model_parented_with_fingerprints(mocks: RecordingMocks, sources: Path) -> Any:
    publisher = ModelPublisher(
        "publisher",
        ModelPublisherArgs(models=_models(), store=STORE, base_dir=str(sources), instance_kind="KIND_CPU"),
    )
    assert [r._name for r in publisher.resources] == ["publisher-mlp", "publisher-pyonnx"]
    # Every output is declared in the props, so it exists as an Output before the provider runs.
    for resource in publisher.resources:
        for key in ("version", "files", "config_sha256", "engine_objects", "published_versions", "repository_path"):
            assert isinstance(getattr(resource, key), pulumi.Output), key

    def check(urns: list[str]) -> None:
        parent_urn, *child_urns = urns
        assert parent_urn.endswith("$triton:publisher:ModelPublisher::publisher")
        for urn in child_urns:
            assert f"triton:publisher:ModelPublisher${MODEL_VERSION_TYPE}::publisher-" in urn
        recorded = {r.name: r for r in mocks.of_type(MODEL_VERSION_TYPE)}
        assert sorted(recorded) == ["publisher-mlp", "publisher-pyonnx"]
        mlp, pyonnx = recorded["publisher-mlp"].inputs, recorded["publisher-pyonnx"].inputs
        assert mlp["source_fingerprint"] == fingerprint.file_sha256(sources / "mlp.onnx")
        assert pyonnx["source_fingerprint"] == fingerprint.tree_sha256(sources / "pyonnx")
        assert mlp["spec"]["name"] == "mlp"
        assert mlp["spec"]["maxBatchSize"] == 8
        assert mlp["store"]["bucket"] == "acme-triton-models"
        assert mlp["provider_version"] == PROVIDER_VERSION
        assert mlp["instance_kind"] == "KIND_CPU"
        assert mlp["tensorrt_version"] == "10.8.0"
        assert mlp["ngc_release"] == "25.01"

    return pulumi.Output.all(publisher.urn, *[r.urn for r in publisher.resources]).apply(check)


@pulumi.runtime.test
def test_inputs_carry_no_secret(mocks: RecordingMocks, sources: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    secret = "minio-root-password-should-never-appear"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    publisher = ModelPublisher("pub", ModelPublisherArgs(models=_models(), store=STORE, base_dir=str(sources)))

    def check(_: Any) -> None:
        recorded = mocks.of_type(MODEL_VERSION_TYPE)
        assert len(recorded) == 2
        text = json.dumps([r.inputs for r in recorded], default=str)
        assert secret not in text
        # Only where credentials come from: a Secret's coordinates, never its values.
        assert all(r.inputs["store"]["credentials"]["name"] == "minio-root" for r in recorded)

    return pulumi.Output.all(*[r.urn for r in publisher.resources]).apply(check)


class _Published(RecordingMocks):
    """Mocks that answer like the provider after a create: version 3 for every model."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        rid, outs = super().new_resource(args)
        if args.typ == MODEL_VERSION_TYPE:
            outs["version"] = 3
        return rid, outs


@pulumi.runtime.test
def test_versions_output_maps_models_and_store_may_be_an_output(sources: Path) -> Any:
    pulumi.runtime.set_mocks(_Published(), project="triton-platform", stack="test", preview=False)
    store = pulumi.Output.from_input(STORE)
    publisher = ModelPublisher("pub", ModelPublisherArgs(models=_models(), store=store, base_dir=str(sources)))
    return publisher.versions.apply(lambda v: assert_equal(v, {"mlp": 3, "pyonnx": 3}))


@pulumi.runtime.test
def test_store_may_be_an_output_and_the_builder_arrives_as_the_stack_set_it(
    mocks: RecordingMocks, sources: Path
) -> Any:
    # A generated bucket name: the StoreRef is known once the bucket is.
    store = pulumi.Output.from_input("generated-bucket-1234").apply(
        lambda bucket: StoreRef.model_validate({**STORE, "bucket": bucket})
    )
    builder = BuilderRef(kind="kubernetes", kubeconfig_path="/tmp/kind.kubeconfig")
    publisher = ModelPublisher(
        "pub", ModelPublisherArgs(models=_models(), store=store, builder=builder, base_dir=str(sources))
    )

    def check(_: Any) -> None:
        inputs = mocks.named("pub-mlp").inputs
        assert inputs["store"]["bucket"] == "generated-bucket-1234"
        assert inputs["builder"] == {"kind": "kubernetes", "kubeconfig_path": "/tmp/kind.kubeconfig"}

    return pulumi.Output.all(*[r.urn for r in publisher.resources]).apply(check)


def assert_equal(actual: Any, expected: Any) -> None:
    assert actual == expected


def test_args_are_validated_with_clear_errors(sources: Path) -> None:
    with pytest.raises(ValidationError, match="duplicate model names"):
        ModelPublisherArgs(models=[*_models(), _models()[0]], store=STORE)
    with pytest.raises(ValidationError, match="valid example"):
        ModelPublisherArgs(models=_models(), store={"kind": "s3", "bucket": "Bad_Bucket"})
    trt = ModelSpec(name="engine", source="mlp.onnx", format="tensorrt")
    with pytest.raises(ValidationError, match="compute_capabilities"):
        ModelPublisherArgs(models=[trt], store=STORE)
    with pytest.raises(ValidationError, match="ngc_release"):
        ModelPublisherArgs(models=_models(), store=STORE, ngc_release="19.01")
    with pytest.raises(ValidationError, match="kubeconfig_path"):
        ModelPublisherArgs(models=_models(), store=STORE, builder={"kind": "kubernetes"})


# --- modelRepository.retainOnDelete (issue 7, item 4) -------------------------------------------
# Pulumi's retainOnDelete resource option: "Pulumi will not call through to the resource provider's
# Delete method when deleting or replacing the resource during pulumi up or pulumi destroy"
# (https://www.pulumi.com/docs/iac/concepts/resources/options/retainondelete/). The engine reads it
# from the RegisterResource request (pulumi/proto/pulumi/resource.proto: `bool retainOnDelete`),
# which the mock monitor records per resource in ``RecordingMocks.retained``.


@pulumi.runtime.test
def test_retention_on_by_default_every_model_version_is_retained(mocks: RecordingMocks, sources: Path) -> Any:
    publisher = ModelPublisher("pub", ModelPublisherArgs(models=_models(), store=STORE, base_dir=str(sources)))

    def check(_: Any) -> None:
        assert {name: mocks.retained[name] for name in ("pub-mlp", "pub-pyonnx")} == {
            "pub-mlp": True,
            "pub-pyonnx": True,
        }

    return pulumi.Output.all(*[r.urn for r in publisher.resources]).apply(check)


@pulumi.runtime.test
def test_retention_off_lets_delete_run(mocks: RecordingMocks, sources: Path) -> Any:
    publisher = ModelPublisher(
        "pub", ModelPublisherArgs(models=_models(), store=STORE, base_dir=str(sources), retain_on_delete=False)
    )

    def check(_: Any) -> None:
        assert mocks.retained["pub-mlp"] is False
        assert mocks.retained["pub-pyonnx"] is False
        # Each ModelVersion names its owner, so its delete never touches another stack's attempts.
        owners = {r.name: r.inputs["owner"] for r in mocks.of_type(MODEL_VERSION_TYPE)}
        assert owners == {"pub-mlp": "triton-platform/test/pub-mlp", "pub-pyonnx": "triton-platform/test/pub-pyonnx"}

    return pulumi.Output.all(*[r.urn for r in publisher.resources]).apply(check)
