"""Release locations on moto, the GCS emulator and Azurite: a kept release copied into its own repository.

The dev stack publishes with the real ModelVersion provider and keeps its releases (the real
ReleasePromotion provider); each release is materialized into ``<cache>/releases/served/<hex>/``
(server-side copies, verified by sha256): idempotent, an interrupted copy finished, a location
holding other bytes refused naming the key and never overwritten. On moto the real tritonserver
(the pytriton wheel) serves each release from its own location, the previous one still answering
as it did after the served prefix moved on; pruning removes only the locations not kept.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.support import servers
from tests.support.dev_stack import MODEL, DevStack
from tests.support.served import infer, lazy_triton, sample_batch
from triton_platform.publisher.errors import StoreError
from triton_platform.publisher.progress import Progress
from triton_platform.publisher.stores import ObjectStore, open_store
from triton_platform.publisher.stores.ref import release_location
from triton_platform.release.manifest import Release, ReleaseError
from triton_platform.release.materialize import (
    location_key,
    locations,
    materialize_release,
    prune_locations,
    wanted_files,
)

pytestmark = pytest.mark.integration


def _complete(store: ObjectStore, release: Release) -> int:
    """Every key of the release's location holds exactly the bytes the manifest names; the object count."""
    files, configs = wanted_files(release.manifest, location_key(store, release.digest))
    held = sorted(o.key for o in store.list(location_key(store, release.digest) + "/"))
    assert held == sorted([*files, *configs])
    for key, sha in {**files, **configs}.items():
        data = store.read_bytes(key)
        assert data is not None
        assert hashlib.sha256(data).hexdigest() == sha
    return len(held)


def _env(monkeypatch: pytest.MonkeyPatch, endpoint: Any) -> None:
    for key, value in endpoint.env().items():
        monkeypatch.setenv(key, value)


def _immutable_idempotent(store: ObjectStore, release: Release) -> str:
    """Materialize, again (nothing copied), finish an interrupted copy, refuse other bytes; the location."""
    lines: list[str] = []
    first = materialize_release(store, release.digest, progress=Progress(log=lines.append))
    assert any("3 object(s) copied into its location" in line for line in lines)  # reported like every transfer
    assert first.location == release_location(store.ref.cache_prefix, release.digest.removeprefix("sha256:"))
    assert first.objects_copied == first.objects == _complete(store, release) == 3
    assert materialize_release(store, release.digest).objects_copied == 0  # complete: left alone

    # An interrupted copy (a version file and its config missing): finished, configs after the files.
    files, configs = wanted_files(release.manifest, first.location)
    file_key, config_key = next(iter(files)), next(iter(configs))
    store.delete([file_key, config_key])
    assert materialize_release(store, release.digest).objects_copied == 2
    assert _complete(store, release) == 3

    # Other bytes under a key of the location: refused naming the key, never overwritten.
    store.upload_bytes(config_key, b"not the release's config")
    with pytest.raises(StoreError, match="immutable") as info:
        materialize_release(store, release.digest)
    assert config_key in str(info.value)
    assert store.read_bytes(config_key) == b"not the release's config"
    # A key the release does not name: refused too (Triton would take it for a model).
    store.delete([config_key])
    materialize_release(store, release.digest)
    stray = first.location + "/stray/config.pbtxt"
    store.upload_bytes(stray, b"x")
    with pytest.raises(StoreError, match="does not name") as info:
        materialize_release(store, release.digest)
    assert stray in str(info.value)
    store.delete([stray])
    assert _complete(store, release) == 3
    return first.location


@pytest.mark.timeout(280)
def test_materialized_locations_on_moto_serve_each_release_and_prune(
    moto_endpoint: servers.S3Endpoint,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _env(monkeypatch, moto_endpoint)
    dev = DevStack(servers.new_bucket(moto_endpoint), tmp_path / "dev")
    r1 = dev.publish(seed=101)
    store = open_store(dev.store_ref)
    first = _immutable_idempotent(store, r1)

    # A new release retires version 1 from the served prefix; r1's location is untouched and still serves.
    r2 = dev.publish(seed=202)
    assert materialize_release(store, r2.manifest).objects_copied == 3  # by its manifest, as by its digest
    assert locations(store) == sorted([r1.digest, r2.digest])
    x = sample_batch()
    answers = {}
    for release in (r1, r2):
        # Triton's S3 syntax with an endpoint, as the chart gives the canary pods their location.
        uri = f"s3://{moto_endpoint.url}/{store.bucket}/{location_key(store, release.digest)}"
        with lazy_triton(uri, tmp_path_factory.mktemp("triton"), moto_endpoint.env()) as lazy:
            server = lazy()
            version = release.manifest.model(MODEL).version
            server.wait_model(MODEL, version)
            answers[release.digest] = infer(server, MODEL, x)
    assert not np.array_equal(answers[r1.digest], answers[r2.digest])

    # Only kept releases keep a location; a folder under the root that is no digest goes too.
    junk = store.ref.cache_key("releases", "served", "junk", "x")
    store.upload_bytes(junk, b"x")
    r1_keys = [o.key for o in store.list(first + "/")]
    assert prune_locations(store, [r2.digest]) == sorted([*r1_keys, junk])
    assert len(r1_keys) == 3
    assert locations(store) == [r2.digest]
    assert _complete(store, r2) == 3
    # The served prefix and the release's blobs are not the locations': untouched.
    assert store.read_bytes(store.ref.served_key(MODEL, "config.pbtxt")) is not None


@pytest.mark.timeout(240)
@pytest.mark.parametrize("kind", ["gcs", "azure"])
def test_materialized_locations_on_gcs_and_azure_are_immutable_and_idempotent(
    kind: str,
    gcs_endpoint: servers.GcsEndpoint,
    azurite_endpoint: servers.AzuriteEndpoint,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    endpoint: Any = gcs_endpoint if kind == "gcs" else azurite_endpoint
    _env(monkeypatch, endpoint)
    dev = DevStack(servers.new_bucket(endpoint), tmp_path / "dev")
    r1 = dev.publish(seed=101)
    store = open_store(dev.store_ref)
    _immutable_idempotent(store, r1)
    assert prune_locations(store, [r1.digest]) == []
    assert len(prune_locations(store, [])) == 3
    assert locations(store) == []


def test_a_release_not_kept_cannot_be_materialized(
    moto_endpoint: servers.S3Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch, moto_endpoint)
    store = open_store(servers.new_bucket(moto_endpoint))
    with pytest.raises(ReleaseError, match="is not kept"):
        materialize_release(store, "sha256:" + "0" * 64)
    with pytest.raises(ReleaseError, match="sha256"):
        materialize_release(store, "sha256:nothex")
    assert locations(store) == []
