"""The dict forms of StoreRef and BuilderRef in the providers' props, and the one validation-error helper.

The forms are part of every existing stack's state (ModelVersion inputs, the `release` output), so
they are pinned here exactly as the stacks sent them before the typed contract.
"""

from __future__ import annotations

import pulumi.dynamic
import pytest
from pydantic import ValidationError

from components.providers.props import (
    builder_props,
    check_parts,
    parse_builder,
    parse_store,
    store_props,
    validation_failures,
)
from tests.support.fakes import wire_floats
from triton_platform.publisher.builders import BuilderRef
from triton_platform.publisher.stores import CredentialsRef, StoreRef

MINIO = StoreRef(
    kind="s3",
    bucket="triton-models",
    endpoint_url="http://127.0.0.1:9000",
    cluster_endpoint_url="http://minio.minio.svc.cluster.local:9000",
    region="us-east-1",
    credentials=CredentialsRef(
        source="kubernetes-secret", kubeconfig_path="/k", kind_cluster="dev", namespace="minio", name="minio-root"
    ),
)
AZURE = StoreRef(kind="azure", bucket="triton-models", account_url="https://acme.blob.core.windows.net")


def test_store_props_are_the_forms_the_stacks_always_sent() -> None:
    # kind (and S3 on AWS, GCS): every field that is set, None left out, credentials in full.
    assert store_props(MINIO) == {
        "kind": "s3",
        "bucket": "triton-models",
        "prefix": "models",
        "cache_prefix": "_cache",
        "endpoint_url": "http://127.0.0.1:9000",
        "cluster_endpoint_url": "http://minio.minio.svc.cluster.local:9000",
        "region": "us-east-1",
        "credentials": {
            "source": "kubernetes-secret",
            "kubeconfig_path": "/k",
            "kind_cluster": "dev",
            "namespace": "minio",
            "name": "minio-root",
            "access_key_field": "rootUser",
            "secret_key_field": "rootPassword",
        },
    }
    # Azure: the dict its stack built by hand (endpoint and region null, credentials by source).
    assert store_props(AZURE) == {
        "kind": "azure",
        "bucket": "triton-models",
        "prefix": "models",
        "cache_prefix": "_cache",
        "endpoint_url": None,
        "region": None,
        "account_url": "https://acme.blob.core.windows.net",
        "credentials": {"source": "environment"},
    }


@pytest.mark.parametrize("ref", [MINIO, AZURE, StoreRef(kind="gcs", bucket="acme-models", region="europe-west4")])
def test_store_props_parse_back_to_the_same_store(ref: StoreRef) -> None:
    assert parse_store(wire_floats(store_props(ref))) == ref


def test_builder_props_hold_what_the_stack_set_and_parse_back() -> None:
    assert builder_props(BuilderRef(kind="local", timeout_seconds=1800)) == {"kind": "local", "timeout_seconds": 1800}
    assert builder_props(BuilderRef()) == {"kind": "local"}
    job = BuilderRef(kind="kubernetes", kubeconfig_path="/k", resources={"nvidia.com/gpu": 1}, poll_seconds=5.0)
    props = builder_props(job)
    assert props == {
        "kind": "kubernetes",
        "kubeconfig_path": "/k",
        "resources": {"nvidia.com/gpu": 1},
        "poll_seconds": 5.0,
    }
    # Across the wire 1 becomes 1.0; the provider gets the same BuilderRef back.
    assert parse_builder(wire_floats(props)) == job
    assert parse_builder(None) == BuilderRef(kind="local")


def test_validation_failures_name_the_prop_path_and_why() -> None:
    with pytest.raises(ValidationError) as err:
        StoreRef.model_validate({"kind": "s3", "bucket": "Bad_Bucket"})
    (failure,) = validation_failures(err.value, "store")
    assert isinstance(failure, pulumi.dynamic.CheckFailure)
    assert failure.property == "store"
    assert failure.reason.startswith("store: ")
    assert "Bad_Bucket" in failure.reason
    failures = check_parts(
        {"store": {"kind": "s3", "bucket": "ok-bucket"}, "builder": {"kind": "kubernetes", "timeout_seconds": 1.0}},
        {"store": StoreRef, "builder": BuilderRef},
    )
    # 1 s is below the builder's minimum; the store is fine.
    assert [f.property for f in failures] == ["builder.timeout_seconds"]
