"""The comment's type tokens and field names are the providers' own, read from the installed SDKs."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pulumi
import pulumi.dynamic

from components.providers.model_version import OUTPUT_KEYS, ModelVersion, ModelVersionArgs
from tests.triton_platform.preview.fixtures import model_inputs
from triton_platform.preview import fields as F
from triton_platform.publisher import fingerprint
from triton_platform.publisher.spec import ModelSpec

# type token -> the SDK module that defines it
_MODULES = {
    "aws:s3/bucket:Bucket": "pulumi_aws.s3.bucket",
    "aws:s3/bucketV2:BucketV2": "pulumi_aws.s3.bucket_v2",
    "gcp:storage/bucket:Bucket": "pulumi_gcp.storage.bucket",
    "azure-native:storage:StorageAccount": "pulumi_azure_native.storage.storage_account",
    "azure-native:storage:BlobContainer": "pulumi_azure_native.storage.blob_container",
    "aws:eks/cluster:Cluster": "pulumi_aws.eks.cluster",
    "gcp:container/cluster:Cluster": "pulumi_gcp.container.cluster",
    "azure-native:containerservice:ManagedCluster": "pulumi_azure_native.containerservice.managed_cluster",
    "aws:eks/nodeGroup:NodeGroup": "pulumi_aws.eks.node_group",
    "gcp:container/nodePool:NodePool": "pulumi_gcp.container.node_pool",
    "azure-native:containerservice:AgentPool": "pulumi_azure_native.containerservice.agent_pool",
    F.HELM_RELEASE: "pulumi_kubernetes.helm.v3.Release",
}


def _source(module: str) -> str:
    spec = importlib.util.find_spec(module)
    assert spec is not None, module
    assert spec.origin is not None, module
    return Path(spec.origin).read_text(encoding="utf-8")


def _package_sources(module: str) -> str:
    """The module's own file plus its package's _inputs.py (where nested argument types live)."""
    text = _source(module)
    package = module.rsplit(".", 1)[0]
    if importlib.util.find_spec(f"{package}._inputs") is not None:
        text += _source(f"{package}._inputs")
    return text


def test_type_tokens_are_the_sdks() -> None:
    tokens = {*F.DATA_TYPES, *F.CAPACITY_TYPES, *F.GPU_FIELDS, F.HELM_RELEASE}
    assert tokens <= set(_MODULES)
    for token in tokens:
        assert f"'{token}'" in _source(_MODULES[token]), token


def test_field_names_are_wire_names_of_the_sdk() -> None:
    assert F.GPU_FIELDS
    assert F.RELEASE_FIELDS
    for token, paths in F.GPU_FIELDS.items():
        text = _package_sources(_MODULES[token])
        for path, _label in paths:
            first = re.findall(r'\["[^"]*"\]|\[\d+\]|[^.\[\]]+', path)
            for part in first:
                if part.startswith("["):
                    continue  # a list index or a map key (a label name), not a schema field
                assert f'"{part}"' in text, f"{token}: {part}"
    release = _source(_MODULES[F.HELM_RELEASE])
    for path, _label in F.RELEASE_FIELDS:
        assert f'"{path.split(".", 1)[0]}"' in release, path


def test_release_value_paths_are_our_charts_keys() -> None:
    import yaml

    values = yaml.safe_load(Path("charts/triton-inference-server/values.yaml").read_text())
    for path in (
        "replicaCount",
        "image.repository",
        "image.tag",
        "service.type",
        "autoscaling.minReplicas",
        "autoscaling.maxReplicas",
        "gpu.resources",
    ):
        node = values
        for part in path.split("."):
            assert isinstance(node, dict), path
            assert part in node, path
            node = node[part]
        assert f"values.{path}" in {p for p, _ in F.RELEASE_FIELDS}


def test_gpu_operator_value_paths_are_what_the_component_sets() -> None:
    from components.gpu.gpu_operator import operator_values

    values = operator_values(
        mig_strategy="single",
        mig_manager_enabled=True,
        driver_enabled=True,
        toolkit_enabled=True,
    )
    assert values["mig"]["strategy"] == "single"
    assert values["migManager"]["config"]["default"] == "all-disabled"
    assert {"values.mig.strategy", "values.migManager.config.default"} <= {p for p, _ in F.RELEASE_FIELDS}


def test_model_version_type_and_props() -> None:
    # The type token pulumi.dynamic builds for our named dynamic resource (pulumi/dynamic/dynamic.py).
    assert issubclass(ModelVersion, pulumi.dynamic.Resource)
    assert f"pulumi-python:{ModelVersion._resource_type_name}" == F.MODEL_VERSION
    props = model_inputs(fingerprint="0" * 64)
    for key in (F.MV_FINGERPRINT, F.MV_RELEASE, F.MV_TENSORRT, F.MV_CCS):
        assert key in props
    assert F.MV_VERSION in OUTPUT_KEYS
    spec_keys = set(props["spec"])
    assert set(F.BUILD_OPTION_KEYS) <= spec_keys | {"calibrationCache"}
    assert {"revision", *F.SPEC_SERVING_KEYS} <= spec_keys | {"signature"}
    assert set(ModelVersionArgs.model_fields) >= {"spec", "source_fingerprint", "compute_capabilities"}


def test_build_option_keys_are_what_changes_an_engine() -> None:
    # fingerprint.build_options is what the engine key hashes: every field of it, and only those.
    spec = ModelSpec.model_validate({"name": "m", "source": "m.onnx", "format": "tensorrt"})
    options = fingerprint.build_options(spec)
    by_alias = {name: (field.alias or name) for name, field in ModelSpec.model_fields.items()}
    expected = {by_alias[k] for k in options if k != "calibration_cache_sha256"} | {by_alias["calibration_cache"]}
    assert set(F.BUILD_OPTION_KEYS) == expected
