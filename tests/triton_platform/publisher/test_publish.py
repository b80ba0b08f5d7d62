"""The atomic publish protocol against real servers on 127.0.0.1 (moto, GCS emulator, Azurite).

Config last, interrupted uploads that leave the served config alone and are completed by the
next attempt, monotonic versions, and removal that only touches what the publisher wrote.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.support.stores import StoreCase, write_file
from triton_platform.publisher.errors import StoreError
from triton_platform.publisher.progress import NullProgress, Progress, Task
from triton_platform.publisher.publish import (
    PublishResult,
    config_key,
    manifest_key,
    next_version,
    publish_version,
    read_manifest,
    remove_model,
    unpublish_version,
    versions_present,
)
from triton_platform.publisher.stores.base import ObjectInfo, ObjectStore, PutItem

MakeStore = Callable[..., StoreCase]
MODEL = "resnet"


def render(versions: list[int]) -> str:
    """A stand-in for pbtxt.render_config: what matters here is which versions it names."""
    listed = ", ".join(str(v) for v in versions)
    return f'name: "{MODEL}"\nbackend: "python"\nversion_policy: {{ specific: {{ versions: [{listed}] }} }}\n'


def publish(store: ObjectStore, version: int, files: dict[str, Path], served: list[int], **kw: Any) -> PublishResult:
    return publish_version(
        store, model=MODEL, version=version, files=files, render_config=render, served_versions=served, **kw
    )


def keys(store: ObjectStore, prefix: str = "") -> list[str]:
    return [o.key for o in store.list(prefix)]


class Interrupted(Exception):
    """Raised by a progress callback to cut an upload off midway."""


class InterruptingProgress(NullProgress):
    """Raises from ``advance`` once ``after_bytes`` of a file whose key ends with ``target`` moved."""

    def __init__(self, target: str, after_bytes: int) -> None:
        super().__init__()
        self.target = target
        self.after_bytes = after_bytes

    def task(self, description: str, total_bytes: int = 0) -> Task:
        task = super().task(description, total_bytes)
        if description.endswith(self.target):
            original = task.advance

            def advance(n: int) -> None:
                original(n)
                if task.done_bytes >= self.after_bytes:
                    raise Interrupted(f"cut off after {task.done_bytes} bytes")

            task.advance = advance  # type: ignore[method-assign]
        return task


class Recording:
    """Test-only mixin: records the order of uploads and verifications."""

    events: list[str]

    def _put_files(self, items: Sequence[PutItem]) -> None:
        self.__dict__.setdefault("events", []).extend(f"put {item.key}" for item in items)
        super()._put_files(items)  # type: ignore[misc]

    def _put_bytes(self, key: str, data: bytes, *, sha256: str, content_type: str) -> None:
        self.__dict__.setdefault("events", []).append(f"put {key}")
        super()._put_bytes(key, data, sha256=sha256, content_type=content_type)  # type: ignore[misc]

    def verify(self, key: str, source: Path | bytes | None, *, size: int, sha256: str, **kw: Any) -> ObjectInfo:
        self.__dict__.setdefault("events", []).append(f"verify {key}")
        return super().verify(key, source, size=size, sha256=sha256, **kw)  # type: ignore[misc]


class FailingUpload:
    """Test-only mixin: the upload of any key ending in ``fail.bin`` fails like a dropped link."""

    def _put_files(self, items: Sequence[PutItem]) -> None:
        super()._put_files([item for item in items if not item.key.endswith("fail.bin")])  # type: ignore[misc]
        failed = [item.key for item in items if item.key.endswith("fail.bin")]
        if failed:
            raise StoreError("connection reset (injected)", key=failed[0])


# --------------------------------------------------------------------------- publishing


@pytest.mark.integration
def test_publish_writes_files_then_config_then_manifest(kind: str, make_store: MakeStore, tmp_path: Path) -> None:
    store = make_store(kind, mixin=Recording).store
    files = {
        "model.py": write_file(tmp_path / "model.py", 300, seed=1),
        "helpers/util.py": write_file(tmp_path / "util.py", 200, seed=2),
    }
    result = publish(store, 1, files, [1])

    v1 = "models/resnet/1/"
    assert keys(store, "models/") == [v1 + "helpers/util.py", v1 + "model.py", "models/resnet/config.pbtxt"]
    assert store.read_bytes(config_key(store, MODEL)) == render([1]).encode()
    events: list[str] = store.events  # type: ignore[attr-defined]
    config_put = events.index("put models/resnet/config.pbtxt")
    manifest_put = events.index("put _cache/manifests/resnet/1.json")
    for name in ("helpers/util.py", "model.py"):
        assert events.index(f"put {v1}{name}") < events.index(f"verify {v1}{name}") < config_put
    assert config_put < manifest_put

    assert result.version == 1
    assert result.bytes_uploaded == 500
    assert result.config_sha256 == hashlib.sha256(render([1]).encode()).hexdigest()
    assert [(f.path, f.size) for f in result.files] == [("helpers/util.py", 200), ("model.py", 300)]
    manifest = read_manifest(store, MODEL, 1)
    assert manifest is not None
    assert manifest["files"] == [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in result.files]
    assert manifest["config_sha256"] == result.config_sha256


def test_publish_result_state_is_json_safe_and_survives_protobuf_floats() -> None:
    from triton_platform.publisher.publish import PublishedFile

    result = PublishResult(
        model="m",
        version=3,
        files=[PublishedFile("model.onnx", 10, "ab" * 32)],
        config_sha256="cd" * 32,
        bytes_uploaded=10,
        seconds=0.25,
        manifest_key="_cache/manifests/m/3.json",
        skipped_files=0,
    )
    state = json.loads(json.dumps(result.to_state()))
    # A dynamic provider's props cross the wire as protobuf Structs: every int becomes a float.
    floated = {**state, "version": 3.0, "bytes_uploaded": 10.0, "files": [{**state["files"][0], "size": 10.0}]}
    assert PublishResult.from_state(floated) == result


@pytest.mark.integration
def test_failure_before_config_leaves_config_and_serving_untouched(
    kind: str, make_store: MakeStore, tmp_path: Path
) -> None:
    store = make_store(kind, mixin=FailingUpload).store
    publish(store, 1, {"model.py": write_file(tmp_path / "v1.py", 100, seed=1)}, [1])
    config_before = store.read_bytes(config_key(store, MODEL))

    files = {"a.bin": write_file(tmp_path / "a.bin", 100, seed=2), "fail.bin": write_file(tmp_path / "f.bin", 100)}
    with pytest.raises(StoreError, match="injected"):
        publish(store, 2, files, [1, 2])

    # What the listing shows after the failure: a.bin went up, fail.bin did not, and neither the
    # config nor a manifest moved: Triton still serves version 1 only.
    assert keys(store, "models/resnet/2/") == ["models/resnet/2/a.bin"]
    assert store.read_bytes(config_key(store, MODEL)) == config_before
    assert store.stat(manifest_key(store, MODEL, 2)) is None


@pytest.mark.integration
def test_interrupted_upload_then_retry_cleans_leftovers_and_completes(
    kind: str, make_store: MakeStore, tmp_path: Path
) -> None:
    case = make_store(kind)
    store = case.store
    publish(store, 1, {"model.py": write_file(tmp_path / "v1.py", 100, seed=1)}, [1])
    config_v1 = store.read_bytes(config_key(store, MODEL))

    same = write_file(tmp_path / "a.bin", 1000, seed=2)
    extra = write_file(tmp_path / "extra.bin", 1000, seed=3)
    big = write_file(tmp_path / "z.bin", case.multipart_size, seed=4)
    # Cut the big file off midway through its upload (after the first part/chunk/block).
    progress = InterruptingProgress("z.bin", after_bytes=case.multipart_size // 3)
    # botocore treats an exception while sending a body as a broken connection: it retries,
    # then reports a StoreError; the other SDKs let the exception through.
    with pytest.raises((Interrupted, StoreError)):
        publish(store, 2, {"a.bin": same, "extra.bin": extra, "z.bin": big}, [1, 2], progress=progress)
    assert progress.summary()[-1].description.endswith("z.bin")
    assert store.read_bytes(config_key(store, MODEL)) == config_v1
    assert store.stat("models/resnet/2/z.bin") is None  # never a partial object
    assert store.stat(manifest_key(store, MODEL, 2)) is None

    # The retry publishes a different file set: extra.bin is a leftover, a.bin is reused.
    result = publish(store, 2, {"a.bin": same, "z.bin": big}, [1, 2])
    assert keys(store, "models/resnet/2/") == ["models/resnet/2/a.bin", "models/resnet/2/z.bin"]
    assert result.skipped_files == 1
    assert result.bytes_uploaded == case.multipart_size
    assert store.read_bytes(config_key(store, MODEL)) == render([1, 2]).encode()
    z = store.stat("models/resnet/2/z.bin")
    assert z is not None
    assert z.size == case.multipart_size


@pytest.mark.integration
def test_a_leftover_with_different_bytes_is_replaced(make_store: MakeStore, tmp_path: Path) -> None:
    store = make_store("s3").store
    # An interrupted attempt uploaded an older build of model.plan under the same name.
    store.upload_file("models/resnet/1/model.plan", write_file(tmp_path / "old.plan", 64, seed=1))
    store.upload_bytes("models/resnet/1/stray.txt", b"from an earlier attempt")
    new = write_file(tmp_path / "new.plan", 64, seed=2)
    result = publish(store, 1, {"model.plan": new}, [1])
    assert result.skipped_files == 0
    assert keys(store, "models/resnet/1/") == ["models/resnet/1/model.plan"]
    assert store.read_bytes("models/resnet/1/model.plan") == new.read_bytes()


@pytest.mark.integration
def test_retry_skips_identical_files(kind: str, make_store: MakeStore, tmp_path: Path) -> None:
    store = make_store(kind, mixin=Recording).store
    files = {"model.onnx": write_file(tmp_path / "m.onnx", 2000, seed=1)}
    publish(store, 1, files, [1])
    store.events.clear()  # type: ignore[attr-defined]
    again = publish(store, 1, files, [1])
    assert (again.skipped_files, again.bytes_uploaded) == (1, 0)
    events: list[str] = store.events  # type: ignore[attr-defined]
    assert "put models/resnet/1/model.onnx" not in events
    assert "verify models/resnet/1/model.onnx" in events  # still verified against the server
    assert "put models/resnet/config.pbtxt" not in events  # identical config is not rewritten


def test_publish_rejects_bad_arguments(tmp_path: Path) -> None:
    from triton_platform.publisher.stores import open_store

    store = open_store({"kind": "s3", "bucket": "models", "endpoint_url": "http://127.0.0.1:9"})
    f = write_file(tmp_path / "m.onnx", 10)
    with pytest.raises(ValueError, match="must include the version being published"):
        publish(store, 2, {"model.onnx": f}, [1])
    with pytest.raises(ValueError, match="must be relative"):
        publish(store, 1, {"../escape.onnx": f}, [1])
    with pytest.raises(ValueError, match="version must be >= 1"):
        publish(store, 0, {"model.onnx": f}, [0])
    with pytest.raises(ValueError, match="model name"):
        publish_version(store, model="bad/name", version=1, files={"m": f}, render_config=render, served_versions=[1])


# --------------------------------------------------------------------------- versions


@pytest.mark.integration
def test_versions_are_monotonic(make_store: MakeStore, tmp_path: Path) -> None:
    store = make_store("s3").store
    assert versions_present(store, MODEL) == []
    assert next_version(store, MODEL, []) == 1
    f = write_file(tmp_path / "m.py", 10)
    publish(store, 1, {"model.py": f}, [1])
    publish(store, 2, {"model.py": f}, [1, 2])
    store.upload_bytes("models/resnet/notes/readme.txt", b"not a version")
    store.upload_bytes("models/resnet-large/7/model.py", b"another model")
    assert versions_present(store, MODEL) == [1, 2]
    assert next_version(store, MODEL, [1, 2]) == 3
    # State remembers a version that is gone from the bucket: never reuse its number.
    assert next_version(store, MODEL, [5]) == 6
    unpublish_version(store, MODEL, 2, ["model.py"], config_text=render([1]))
    assert versions_present(store, MODEL) == [1]
    assert next_version(store, MODEL, [1, 2]) == 3


# --------------------------------------------------------------------------- removal


@pytest.mark.integration
def test_unpublish_and_remove_touch_only_owned_objects(kind: str, make_store: MakeStore, tmp_path: Path) -> None:
    store = make_store(kind).store
    f = write_file(tmp_path / "m.py", 10)
    v1 = publish(store, 1, {"model.py": f}, [1])
    v2 = publish(store, 2, {"model.py": f}, [1, 2])
    # Someone else's objects under our model prefix.
    store.upload_bytes("models/resnet/1/foreign.txt", b"theirs")
    store.upload_bytes("models/resnet/NOTES.md", b"theirs")

    deleted = unpublish_version(store, MODEL, 1, v1.files, config_text=render([2]))
    assert deleted == ["_cache/manifests/resnet/1.json", "models/resnet/1/model.py"]
    assert store.read_bytes(config_key(store, MODEL)) == render([2]).encode()  # config first
    config_sha = hashlib.sha256(render([2]).encode()).hexdigest()

    removed = remove_model(store, MODEL, {2: v2.files}, config_sha)
    assert removed.config_deleted
    assert keys(store, "models/") == ["models/resnet/1/foreign.txt", "models/resnet/NOTES.md"]
    assert keys(store, "_cache/") == []


@pytest.mark.integration
def test_remove_keeps_a_config_someone_else_rewrote(make_store: MakeStore, tmp_path: Path) -> None:
    store = make_store("gcs").store
    result = publish(store, 1, {"model.py": write_file(tmp_path / "m.py", 10)}, [1])
    store.upload_bytes(config_key(store, MODEL), b'name: "resnet"\n# tuned by hand\n')

    # Versions given as numbers: the files come from the manifests publish wrote.
    removed = remove_model(store, MODEL, [1], result.config_sha256)
    assert not removed.config_deleted
    assert removed.config_kept_reason == "rewritten by someone else"
    assert keys(store, "models/") == ["models/resnet/config.pbtxt"]
    assert store.read_bytes(config_key(store, MODEL)) == b'name: "resnet"\n# tuned by hand\n'


# --------------------------------------------------------------------------- progress


def test_progress_plain_lines_and_summary() -> None:
    lines: list[str] = []
    progress = Progress(interactive=False, log=lines.append, log_interval_s=0.0)
    with progress.task("upload models/m/1/model.plan", 2_000_000) as task:
        task.advance(1_000_000)
        task.advance(-500_000)  # a retried part
        task.advance(1_500_000)
    progress.note("skipped config.pbtxt")
    [op] = progress.summary()
    assert op.bytes == 2_000_000
    assert op.seconds > 0
    assert op.mb_per_s > 0
    assert lines[0].startswith("upload models/m/1/model.plan: 1.0/2.0 MB (50%)")
    assert lines[-2].startswith("done upload models/m/1/model.plan: 2.0 MB in ")
    assert lines[-1] == "skipped config.pbtxt"
    echoed: list[str] = []
    Progress(interactive=False, log=echoed.append).summary(echo=True)
    assert echoed == []


def test_progress_draws_a_rich_bar_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    progress = Progress(stream=out)
    assert progress.interactive
    with progress.task("upload big.plan", 1000) as task:
        task.advance(1000)
    progress.close()
    assert "upload big.plan" in out.getvalue()
    assert [op.bytes for op in progress.summary()] == [1000]
