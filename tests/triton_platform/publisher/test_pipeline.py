"""One publish reads each model file once, and publishes only the bytes the preview fingerprinted.

The ModelVersion provider's create is what the engine calls after the program computed the
source fingerprint (``provider_props``); every ``open`` of the model file during the create is
spied on and the bytes read from it are counted.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from components.providers.model_version import ModelVersionProvider
from tests.support.fakes import provider_props
from tests.support.large_onnx import write_large_onnx
from tests.support.stores import StoreCase
from triton_platform.publisher import pipeline
from triton_platform.publisher.errors import PublisherError
from triton_platform.publisher.spec import ModelSpec
from triton_platform.publisher.stores import open_store

MakeStore = Callable[..., StoreCase]
MiB = 1024 * 1024


class ReadSpy:
    """Counts the bytes read through every file object opened on ``path`` (and how often it was opened)."""

    def __init__(self, path: Path) -> None:
        self.path = os.path.realpath(path)
        self.opens = 0
        self.bytes_read = 0

    def wrap(self, fh: Any) -> Any:
        spy = self
        real_read, real_readinto = fh.read, fh.readinto

        def read(n: int = -1) -> bytes:
            data = real_read(n)
            spy.bytes_read += len(data)
            return data

        def readinto(buffer: Any) -> int:
            n = real_readinto(buffer)
            spy.bytes_read += n or 0
            return n

        class Proxy:
            def __getattr__(self, name: str) -> Any:
                return getattr(fh, name)

            def __enter__(self) -> Proxy:
                return self

            def __exit__(self, *exc: object) -> None:
                fh.close()

            def __iter__(self) -> Iterator[bytes]:
                return iter(fh)

        proxy = Proxy()
        proxy.read = read  # type: ignore[attr-defined]
        proxy.readinto = readinto  # type: ignore[attr-defined]
        return proxy


@pytest.fixture
def spy_reads(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], ReadSpy]:
    def install(path: Path) -> ReadSpy:
        spy = ReadSpy(path)
        real_open = builtins.open

        def spying_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
            fh = real_open(file, mode, *args, **kwargs)
            if isinstance(file, str | os.PathLike) and os.path.realpath(file) == spy.path and "r" in mode:
                spy.opens += 1
                return spy.wrap(fh)
            return fh

        monkeypatch.setattr(builtins, "open", spying_open)
        return spy

    return install


def _onnx_spec(name: str, source: str) -> ModelSpec:
    return ModelSpec(name=name, source=source, format="onnx", max_batch_size=8, instance_kind="cpu")


def _store(case: StoreCase) -> dict[str, Any]:
    return case.store.ref.model_dump(mode="json", exclude_none=True)


@pytest.mark.integration
def test_one_publish_reads_the_model_file_once(
    kind: str, make_store: MakeStore, spy_reads: Callable[[Path], ReadSpy], tmp_path: Path
) -> None:
    case = make_store(kind)
    size = 24 * MiB  # several parts on GCS and Azure, one PutObject streamed from the file on S3
    model = write_large_onnx(tmp_path / "big.onnx", size)
    file_size = model.stat().st_size
    # The program fingerprints the file (the preview); then the engine calls create.
    props = provider_props(_onnx_spec("big", "big.onnx"), _store(case), tmp_path, instance_kind="KIND_CPU")
    spy = spy_reads(model)
    outs = ModelVersionProvider().create(props).outs
    assert outs is not None
    assert outs["version"] == 1
    assert outs["files"] == [{"path": "model.onnx", "size": file_size, "sha256": props["source_fingerprint"]}]
    # One pass over the bytes (the upload), plus the graph's few kilobytes read with the weights skipped.
    assert file_size <= spy.bytes_read < file_size + 256 * 1024, (spy.bytes_read, file_size, spy.opens)
    stored = case.store.stat(case.store.ref.served_key("big", "1", "model.onnx"))
    assert stored is not None
    assert stored.sha256 == props["source_fingerprint"]


@pytest.mark.integration
def test_a_source_changed_after_the_preview_is_never_published(make_store: MakeStore, tmp_path: Path) -> None:
    case = make_store("s3")
    model = write_large_onnx(tmp_path / "m.onnx", 12 * MiB, seed=1)
    props = provider_props(_onnx_spec("m", "m.onnx"), _store(case), tmp_path, instance_kind="KIND_CPU")
    write_large_onnx(model, 12 * MiB, seed=2)  # same size, other weights, after the preview
    with pytest.raises(PublisherError, match=r"model 'm'.*changed after the preview computed its fingerprint"):
        ModelVersionProvider().create(props)
    store = open_store(case.store.ref)
    assert store.list(store.ref.served_key("m") + "/") == []  # no file, no config


def test_a_changed_source_is_refused_before_anything_is_uploaded_with_the_memory_store(tmp_path: Path) -> None:
    from tests.support.fakes import MemoryStore

    store = MemoryStore()
    model = write_large_onnx(tmp_path / "m.onnx", 1 * MiB, seed=1)
    spec = _onnx_spec("m", "m.onnx")
    request = pipeline.PublishRequest(
        spec=spec,
        store=store.ref,
        source_fingerprint=pipeline.source_fingerprint(spec, tmp_path),
        base_dir=str(tmp_path),
    )
    write_large_onnx(model, 1 * MiB, seed=2)
    with pytest.raises(PublisherError, match="changed after the preview"):
        pipeline.publish(request, store=store)
    assert [k for k in store.objects if k.startswith("models/")] == []


# --------------------------------------------------------------------------- requests per publish


@pytest.mark.integration
def test_an_s3_publish_sends_only_the_requests_its_protocol_needs(
    s3_requests: list[str], make_store: MakeStore, tmp_path: Path
) -> None:
    """A create and an update of a 12 MiB ONNX: 7 requests each (a bare upload of it by boto3 takes 4).

    Listings of the pending markers and of the model (which also checks the bucket), the pending
    marker, the model as one PutObject streamed from the file (its SHA256 checked by the server,
    the reply's checksum verifies it), config.pbtxt (a new version: not read first), the manifest,
    and one DeleteObjects for the marker and the version the update retires (its files from the
    state). Nothing is read back: no HeadObject, no GetObject.
    """
    case = make_store("s3")
    model = write_large_onnx(tmp_path / "m.onnx", 12 * MiB)
    props = provider_props(_onnx_spec("m", "m.onnx"), _store(case), tmp_path, instance_kind="KIND_CPU")
    provider = ModelVersionProvider()
    created = provider.create(props).outs
    assert created is not None
    assert created["version"] == 1
    expected = ["DeleteObjects", "ListObjectsV2", "ListObjectsV2", *["PutObject"] * 4]
    assert sorted(s3_requests) == expected, s3_requests
    s3_requests.clear()
    updated = provider.update("id", {**props, **created}, props).outs
    assert updated is not None
    assert updated["version"] == 2
    assert updated["published_versions"] == [2]
    assert sorted(s3_requests) == expected, s3_requests
    # What those requests left: version 2 verified, served by the config; version 1 and the marker gone.
    store = open_store(case.store.ref)
    stored = store.stat(store.ref.served_key("m", "2", "model.onnx"))
    assert stored is not None
    assert (stored.size, stored.sha256) == (model.stat().st_size, props["source_fingerprint"])
    served = [o.key for o in store.list(store.ref.served_key("m") + "/")]
    assert served == ["models/m/2/model.onnx", "models/m/config.pbtxt"]
    assert [o.key for o in store.list(store.ref.cache_prefix + "/")] == ["_cache/manifests/m/2.json"]
