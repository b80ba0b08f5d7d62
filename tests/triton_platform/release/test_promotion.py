"""Promotion across clouds against the emulators, served by a real Triton.

A "dev" stack publishes with the real ModelVersion provider into moto (S3) and keeps its release
(``snapshot_release``); "staging" promotes it into the GCS emulator, "prod-azure" into Azurite.
Every promoted object is read back and checked by sha256 against the manifest and the source's
bytes; an interrupted copy (a fault injected into the GCS upload) leaves the previous release
serving; the real ``tritonserver`` of the pytriton wheel loads the promoted repository from the
GCS emulator and answers exactly as it did from the source bucket.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from components.providers.release_promotion import ReleasePromotionArgs, ReleasePromotionProvider
from samples import make_samples
from tests.support import servers
from tests.support.dev_stack import MODEL, DevStack
from tests.support.fakes import wire_floats
from tests.support.providers import unpickled_class
from tests.support.served import infer, lazy_triton, sample_batch
from tests.support.triton import TritonServer
from triton_platform.publisher.stores import ObjectStore, StoreRef, open_store
from triton_platform.publisher.stores.gcs import GcsStore
from triton_platform.release.manifest import Release, ReleaseError
from triton_platform.release.promotion import (
    HistoryEntry,
    blob_key,
    kept_digests,
    promote_release,
    read_history,
    release_key,
    serving_digest,
)

pytestmark = pytest.mark.integration

DEV = "acme/triton-platform/dev"


@pytest.fixture
def emulator_env(
    moto_endpoint: servers.S3Endpoint,
    gcs_endpoint: servers.GcsEndpoint,
    azurite_endpoint: servers.AzuriteEndpoint,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The three clouds' credential chains side by side, as on a CI runner promoting across clouds.
    for endpoint in (moto_endpoint, gcs_endpoint, azurite_endpoint):
        for key, value in endpoint.env().items():
            monkeypatch.setenv(key, value)


def _objects_match(release: Release, source: ObjectStore, target: ObjectStore) -> int:
    """Every served file and config of ``release`` in ``target``: sha256 as named, bytes as in the source."""
    checked = 0
    for m in release.manifest.models:
        config = target.read_bytes(target.ref.served_key(m.name, "config.pbtxt"))
        assert config is not None
        assert hashlib.sha256(config).hexdigest() == m.config_sha256
        for rel, sha in m.files.items():
            data = target.read_bytes(target.ref.served_key(m.name, str(m.version), rel))
            assert data is not None, rel
            assert hashlib.sha256(data).hexdigest() == sha
            assert data == source.read_bytes(blob_key(source, sha))
            assert target.stat(target.ref.served_key(m.name, str(m.version), rel)).sha256 == sha  # type: ignore[union-attr]
            checked += 1
        served = sorted(o.key for o in target.list(target.ref.served_key(m.name) + "/"))
        expected = [target.ref.served_key(m.name, str(m.version), rel) for rel in m.files]
        assert served == sorted([*expected, target.ref.served_key(m.name, "config.pbtxt")])
    for sha in release.manifest.artifacts():
        data = target.read_bytes(blob_key(target, sha))
        assert data is not None
        assert hashlib.sha256(data).hexdigest() == sha
    assert target.read_bytes(release_key(target, release.digest)) == release.manifest.canonical()
    return checked


def _serves(server: TritonServer, version: int, other: int) -> None:
    server.wait_model(MODEL, version)
    deadline = time.monotonic() + 30
    while server.model_ready(MODEL, other) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert not server.model_ready(MODEL, other)


@pytest.mark.timeout(280)
@pytest.mark.usefixtures("emulator_env")
def test_release_promoted_from_s3_to_gcs_serves_the_same_answers_survives_a_fault_and_rolls_back(
    moto_endpoint: servers.S3Endpoint,
    gcs_endpoint: servers.GcsEndpoint,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dev = DevStack(servers.new_bucket(moto_endpoint), tmp_path / "dev")
    r1 = dev.publish(seed=101)
    source = open_store(dev.store_ref)
    x = sample_batch()
    # What the source's Triton answers, read from the source bucket.
    with lazy_triton(source.ref.repository_uri(), tmp_path_factory.mktemp("triton-dev"), moto_endpoint.env()) as lazy:
        server = lazy()
        server.wait_model(MODEL, 1)
        answer_r1 = infer(server, MODEL, x)

    staging_ref = servers.new_bucket(gcs_endpoint)
    target = open_store(staging_ref)
    result = promote_release(source, target, r1, from_stack=DEV)
    assert result.digest == r1.digest
    assert result.objects_copied > 0
    assert _objects_match(r1, source, target) == 2

    with lazy_triton(
        StoreRef.model_validate(staging_ref).repository_uri(), tmp_path_factory.mktemp("triton-gcs"), gcs_endpoint.env()
    ) as lazy:
        server = lazy()
        server.wait_model(MODEL, 1)
        np.testing.assert_array_equal(infer(server, MODEL, x), answer_r1)

        # dev publishes new weights (version 2) and retires version 1 from its served prefix.
        r2 = dev.publish(seed=202)
        assert r2.digest != r1.digest
        assert not source.list(source.ref.served_key(MODEL, "1") + "/")
        assert set(kept_digests(source)) == {r1.digest, r2.digest}

        # The copy into staging dies in the middle of version 2's files (a server-side copy from its blob).
        real_copy = GcsStore._server_copy

        class InjectedFault(ConnectionError):
            pass

        def failing_copy(self: GcsStore, source: ObjectStore, source_key: str, key: str, **kwargs: Any) -> None:
            if key.endswith(f"/{MODEL}/2/model.py"):
                raise InjectedFault(f"injected: connection lost copying {key}")
            real_copy(self, source, source_key, key, **kwargs)

        monkeypatch.setattr(GcsStore, "_server_copy", failing_copy)
        with pytest.raises(InjectedFault):
            promote_release(source, target, r2, from_stack=DEV)
        monkeypatch.setattr(GcsStore, "_server_copy", real_copy)
        # The previous release keeps serving: its config and files untouched, version 2 never loaded.
        for rel, sha in r1.manifest.model(MODEL).files.items():
            data = target.read_bytes(target.ref.served_key(MODEL, "1", rel))
            assert data is not None
            assert hashlib.sha256(data).hexdigest() == sha
        half = {o.key for o in target.list(target.ref.served_key(MODEL, "2") + "/")}
        assert target.ref.served_key(MODEL, "2", "model.py") not in half
        config = target.read_bytes(target.ref.served_key(MODEL, "config.pbtxt"))
        assert config is not None
        assert hashlib.sha256(config).hexdigest() == r1.manifest.model(MODEL).config_sha256
        for _ in range(3):
            time.sleep(1)
            assert server.model_ready(MODEL, 1)
            assert not server.model_ready(MODEL, 2)
            np.testing.assert_array_equal(infer(server, MODEL, x), answer_r1)
        assert [e.digest for e in read_history(target)] == [r1.digest]

        # Run again: version 2 goes live, version 1 is retired from the served prefix but kept as a release.
        promote_release(source, target, r2, from_stack=DEV)
        _serves(server, 2, 1)
        assert _objects_match(r2, source, target) == 2
        answer_r2 = infer(server, MODEL, x)
        assert not np.allclose(answer_r2, answer_r1)
        assert set(kept_digests(target)) == {r1.digest, r2.digest}
        history = read_history(target)
        assert [(e.digest, e.fromStack, e.models) for e in history] == [
            (r2.digest, DEV, {MODEL: 2}),
            (r1.digest, DEV, {MODEL: 1}),
        ]

        # Rolling back is promoting the older digest the upstream still keeps.
        promote_release(source, target, r1, from_stack=DEV)
        _serves(server, 1, 2)
        np.testing.assert_array_equal(infer(server, MODEL, x), answer_r1)
        assert [e.digest for e in read_history(target)] == [r1.digest, r2.digest, r1.digest]


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("emulator_env")
def test_release_promoted_from_s3_to_azurite_byte_identical_and_a_tampered_upstream_is_refused(
    moto_endpoint: servers.S3Endpoint, azurite_endpoint: servers.AzuriteEndpoint, tmp_path: Path
) -> None:
    dev = DevStack(servers.new_bucket(moto_endpoint), tmp_path / "dev")
    release = dev.publish(seed=make_samples.PYTHON_ONNX_SEED)
    source = open_store(dev.store_ref)
    target_ref = servers.new_bucket(azurite_endpoint)
    target = open_store(target_ref)
    # The prod stack's ReleasePromotion (mode promote), its props as they cross the wire.
    props = wire_floats(
        ReleasePromotionArgs(
            mode="promote",
            digest=release.digest,
            manifest=release.manifest.to_json(),
            source_store=dev.store_ref,
            target_store=target_ref,
            from_stack=DEV,
        ).props()
    )
    provider = ReleasePromotionProvider()
    outs = provider.create(props).outs
    assert outs is not None
    assert outs["digest"] == release.digest
    assert [(e["digest"], e["fromStack"]) for e in outs["history"]] == [(release.digest, DEV)]
    assert _objects_match(release, source, target) == 2
    # No credential in the props, the outputs or the pickled provider the state keeps.
    serialized = base64.b64decode(serialize_provider(provider))
    for secret in (moto_endpoint.secret_key, servers.AZURITE_KEY):
        assert secret not in json.dumps([props, outs])
        assert secret.encode() not in serialized
    loaded = unpickled_class(base64.b64encode(serialized).decode())
    assert loaded == "components.providers.release_promotion.ReleasePromotionProvider"
    # A second run copies nothing: everything is there and verified.
    again = promote_release(source, target, release, from_stack=DEV)
    assert again.objects_copied == 0
    assert len(read_history(target)) == 1
    # Deleting the resource stops serving the release: configs first, then its files.
    provider.delete("id", props)
    assert target.list(target.ref.served_key(MODEL) + "/") == []

    # Someone rewrites an artifact upstream: the next target refuses it, naming the object.
    sha = release.manifest.model(MODEL).files["model.onnx"]
    source.upload_bytes(blob_key(source, sha), b"not the model")
    other = open_store(servers.new_bucket(azurite_endpoint))
    with pytest.raises(Exception, match=r"sha256|checksum|bytes") as info:
        promote_release(source, other, release, from_stack=DEV)
    assert blob_key(source, sha) in str(info.value)
    assert other.read_bytes(other.ref.served_key(MODEL, "config.pbtxt")) is None

    # A digest the upstream does not keep is refused with what it keeps.
    source.delete([release_key(source, release.digest)])
    with pytest.raises(ReleaseError, match="does not keep release"):
        promote_release(source, other, release, from_stack=DEV)


# --------------------------------------------------------------------------- which release serves


def _entry(digest_char: str, served_at: str | None = None) -> HistoryEntry:
    return HistoryEntry("sha256:" + digest_char * 64, "2026-12-01T00:00:00Z", servedAt=served_at)


def test_serving_digest_is_the_latest_release_a_rollout_promoted_to_100_percent() -> None:
    # Newest first: c and b were kept after a (their canaries aborted); a still serves.
    assert serving_digest([]) is None
    assert serving_digest([_entry("c"), _entry("b")]) is None  # no rollout completed (or strategy instant)
    history = [_entry("c"), _entry("b"), _entry("a", "2026-12-02T10:00:00Z"), _entry("d", "2026-12-01T10:00:00Z")]
    assert serving_digest(history) == "sha256:" + "a" * 64
    # `served --digest` of an older entry later: the latest servedAt wins, not the position.
    history.append(_entry("e", "2026-12-03T10:00:00Z"))
    assert serving_digest(history) == "sha256:" + "e" * 64
    # Equal times: the newer entry.
    assert serving_digest([_entry("f", "2026-12-03T10:00:00Z"), *history]) == "sha256:" + "f" * 64


def test_history_entries_carry_served_at_only_once_set() -> None:
    # The history (and the releaseHistory output) of a stack that never rolled out a canary is unchanged.
    assert "servedAt" not in _entry("a").to_json()
    marked = _entry("a", "2026-12-02T10:00:00Z")
    assert marked.to_json()["servedAt"] == "2026-12-02T10:00:00Z"
    assert HistoryEntry.parse(marked.to_json()) == marked
    assert HistoryEntry.parse(_entry("a").to_json()) == _entry("a")
