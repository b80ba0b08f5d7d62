"""File/tree fingerprints with their memo and persistent cache, and content-addressed engine keys."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stacks import REPO
from triton_platform.publisher import fingerprint as fp
from triton_platform.publisher.errors import ModelSourceError, ModelSpecError
from triton_platform.publisher.spec import ModelSpec

REPO_ROOT = REPO
SHA_A = "a" * 64


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private persistent cache and a fresh memo and counters for every test."""
    d = tmp_path / "cache"
    monkeypatch.setenv(fp.CACHE_ENV, str(d))
    fp.clear_memo()
    monkeypatch.setattr(fp, "STATS", fp.HashStats())
    yield d
    fp.clear_memo()


def _settled(path: Path, data: bytes) -> Path:
    """Write ``data`` and date the file a minute back, past the racy-mtime window."""
    path.write_bytes(data)
    old = time.time() - 60
    os.utime(path, (old, old))
    return path


def test_file_sha256_is_sha256_of_the_bytes(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    path = _settled(tmp_path / "m.onnx", data)
    assert fp.file_sha256(path) == hashlib.sha256(data).hexdigest()


def test_second_call_does_not_read_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _settled(tmp_path / "m.onnx", b"x" * 1000)
    reads: list[Path] = []
    real = fp._hash_file

    def counting(p: Path) -> str:
        reads.append(p)
        return real(p)

    monkeypatch.setattr(fp, "_hash_file", counting)
    first = fp.file_sha256(path)
    assert fp.file_sha256(path) == first
    assert fp.file_sha256(str(path)) == first
    assert len(reads) == 1
    assert fp.STATS.memo_hits == 2
    # The in-process memo gone, the persistent cache answers.
    fp.clear_memo()
    assert fp.file_sha256(path) == first
    assert len(reads) == 1
    assert fp.STATS.disk_hits == 1


def test_changed_file_is_hashed_again(tmp_path: Path) -> None:
    path = _settled(tmp_path / "m.onnx", b"one")
    first = fp.file_sha256(path)
    _settled(path, b"two")  # same size, new mtime
    assert fp.file_sha256(path) == hashlib.sha256(b"two").hexdigest() != first
    assert fp.STATS.hashed_files == 2


def test_recently_modified_file_is_never_trusted_from_cache(tmp_path: Path) -> None:
    path = tmp_path / "fresh.onnx"
    path.write_bytes(b"fresh")
    fp.file_sha256(path)
    fp.file_sha256(path)
    assert fp.STATS.hashed_files == 2
    assert not fp.cache_path().exists()


def test_persistent_cache_survives_a_new_process(tmp_path: Path, cache_dir: Path) -> None:
    path = _settled(tmp_path / "big.onnx", os.urandom(1 << 20))
    script = (
        "import json, sys\n"
        "from triton_platform.publisher import fingerprint as fp\n"
        "sha = fp.file_sha256(sys.argv[1])\n"
        "print(json.dumps({'sha': sha, 'hashed': fp.STATS.hashed_files, 'disk_hits': fp.STATS.disk_hits}))\n"
    )
    env = {**os.environ, fp.CACHE_ENV: str(cache_dir), "PYTHONPATH": str(REPO_ROOT)}

    def run() -> dict[str, object]:
        out = subprocess.run(
            [sys.executable, "-c", script, str(path)], env=env, capture_output=True, text=True, timeout=60, check=True
        )
        return dict(json.loads(out.stdout))

    first, second = run(), run()
    assert first == {"sha": hashlib.sha256(path.read_bytes()).hexdigest(), "hashed": 1, "disk_hits": 0}
    assert second == {"sha": first["sha"], "hashed": 0, "disk_hits": 1}


def test_corrupt_cache_is_tolerated_and_replaced(tmp_path: Path, cache_dir: Path) -> None:
    cache_dir.mkdir(parents=True)
    fp.cache_path().write_text("{not json", encoding="utf-8")
    path = _settled(tmp_path / "m.onnx", b"abc")
    assert fp.file_sha256(path) == hashlib.sha256(b"abc").hexdigest()
    data = json.loads(fp.cache_path().read_text(encoding="utf-8"))
    assert data["entries"][str(path)]["sha256"] == hashlib.sha256(b"abc").hexdigest()
    # Atomic writes leave no temporary files behind.
    assert sorted(p.name for p in cache_dir.iterdir()) == ["hashes.json", "hashes.lock"]


def test_tampered_cache_entry_is_ignored(tmp_path: Path) -> None:
    path = _settled(tmp_path / "m.onnx", b"abc")
    fp.file_sha256(path)
    data = json.loads(fp.cache_path().read_text(encoding="utf-8"))
    data["entries"][str(path)]["inode"] += 1  # e.g. the file was replaced by another one
    fp.cache_path().write_text(json.dumps(data), encoding="utf-8")
    fp.clear_memo()
    fp.file_sha256(path)
    assert fp.STATS.hashed_files == 2


def test_missing_and_non_regular_sources(tmp_path: Path) -> None:
    with pytest.raises(ModelSourceError, match=r"model 'm'.*does not exist"):
        fp.file_sha256(tmp_path / "missing.onnx", model="m")
    with pytest.raises(ModelSourceError, match="not a regular file"):
        fp.file_sha256(tmp_path)
    with pytest.raises(ModelSourceError, match=r"needs a directory with model\.py"):
        fp.tree_sha256(_settled(tmp_path / "f", b""), model="m")


def _python_model(root: Path) -> Path:
    (root / "1").mkdir(parents=True)
    _settled(root / "1" / "model.py", b"class TritonPythonModel: ...\n")
    _settled(root / "helpers.py", b"X = 1\n")
    return root


def test_tree_sha256_is_stable_and_content_addressed(tmp_path: Path) -> None:
    a = _python_model(tmp_path / "a")
    b = _python_model(tmp_path / "b")
    assert fp.tree_sha256(a) == fp.tree_sha256(b)
    # Bytecode caches do not count.
    (a / "__pycache__").mkdir()
    _settled(a / "__pycache__" / "helpers.cpython-311.pyc", b"\x00")
    assert fp.tree_sha256(a) == fp.tree_sha256(b)
    # A rename changes it, as does a byte.
    (b / "helpers.py").rename(b / "util.py")
    renamed = fp.tree_sha256(b)
    assert renamed != fp.tree_sha256(a)
    _settled(a / "helpers.py", b"X = 2\n")
    assert fp.tree_sha256(a) not in (renamed, fp.tree_sha256(_python_model(tmp_path / "c")))
    assert [rel for rel, _ in fp.tree_files(b)] == ["1/model.py", "util.py"]


def _trt(**kw: object) -> ModelSpec:
    base: dict[str, object] = {"name": "resnet", "source": "resnet.onnx", "format": "tensorrt"}
    return ModelSpec.model_validate({**base, **kw})


SHAPES = {"x": {"min": [1, 4], "opt": [4, 4], "max": [8, 4]}}


def test_build_options_hold_only_engine_relevant_fields() -> None:
    opts = fp.build_options(_trt(shapes=SHAPES))
    assert set(opts) == {
        "precision",
        "max_batch_size",
        "shapes",
        "workspace_mb",
        "hardware_compatibility",
        "calibration_cache_sha256",
    }
    assert opts["shapes"] == {"x": {"min": [1, 4], "opt": [4, 4], "max": [8, 4]}}
    json.dumps(opts)  # JSON-safe


@pytest.mark.parametrize(
    "change",
    [
        {"precision": "fp16"},
        {"precision": "tf32"},
        {"shapes": {"x": {"min": [1, 4], "opt": [2, 4], "max": [8, 4]}}},
        {"workspace_mb": 1024},
        {"hardware_compatibility": "ampere+"},
        {"max_batch_size": 16, "shapes": {"x": {"min": [1, 4], "opt": [4, 4], "max": [16, 4]}}},
    ],
)
def test_engine_key_changes_with_each_build_option(change: dict[str, object]) -> None:
    base = fp.engine_key(SHA_A, _trt(shapes=SHAPES), "10.8.0", "8.0")
    assert fp.engine_key(SHA_A, _trt(**{"shapes": SHAPES, **change}), "10.8.0", "8.0") != base


def test_engine_key_changes_with_onnx_tensorrt_cc_and_calibration(tmp_path: Path) -> None:
    spec = _trt(shapes=SHAPES)
    base = fp.engine_key(SHA_A, spec, "10.8.0", "8.0")
    assert len(base) == 64
    assert fp.engine_key(SHA_A, spec, "10.8.0", "8.0") == base
    assert fp.engine_key("b" * 64, spec, "10.8.0", "8.0") != base
    assert fp.engine_key(SHA_A, spec, "10.9.0", "8.0") != base
    assert fp.engine_key(SHA_A, spec, "10.8.0", "9.0") != base
    cal1 = _settled(tmp_path / "c1.cache", b"TRT-1-EntropyCalibration2\n")
    cal2 = _settled(tmp_path / "c2.cache", b"TRT-1-EntropyCalibration2\nx: 3c\n")
    k1 = fp.engine_key(SHA_A, _trt(precision="int8", calibration_cache=str(cal1)), "10.8.0", "8.0")
    k2 = fp.engine_key(SHA_A, _trt(precision="int8", calibration_cache=str(cal2)), "10.8.0", "8.0")
    assert k1 != k2
    # A given sha wins over hashing the (possibly remote) file.
    remote = _trt(precision="int8", calibration_cache="s3://b/cal.cache")
    assert fp.engine_key(SHA_A, remote, "10.8.0", "8.0", calibration_sha256=fp.file_sha256(cal1)) == k1
    with pytest.raises(ModelSpecError, match="is remote; fetch it and pass its sha256"):
        fp.engine_key(SHA_A, remote, "10.8.0", "8.0")


@pytest.mark.parametrize(
    "change",
    [
        {"instance_count": 4},
        {"dynamic_batching": {"preferredBatchSizes": [4], "maxQueueDelayMicroseconds": 500}},
        {"cuda_graphs": True},
        {"revision": 3},
        {"instance_kind": "gpu"},
        {"version_policy": {"latest": 2}},
        {"source": "elsewhere/resnet.onnx"},
    ],
)
def test_engine_key_ignores_serving_only_fields(change: dict[str, object]) -> None:
    base = fp.engine_key(SHA_A, _trt(shapes=SHAPES), "10.8.0", "8.0")
    assert fp.engine_key(SHA_A, _trt(**{"shapes": SHAPES, **change}), "10.8.0", "8.0") == base


def test_engine_key_validates_inputs() -> None:
    with pytest.raises(ValueError, match="not a lowercase sha256"):
        fp.engine_key("xyz", _trt(), "10.8.0", "8.0")
    with pytest.raises(ModelSpecError, match=r"'sm80' is not 'major\.minor'"):
        fp.engine_key(SHA_A, _trt(), "10.8.0", "sm80")


def test_object_keys() -> None:
    assert fp.engine_object_key("_cache", "resnet", "k" * 8, "8.0") == "_cache/engines/resnet/kkkkkkkk/sm80.plan"
    assert fp.engine_object_key("_cache/", "resnet", "abc", "9.0") == "_cache/engines/resnet/abc/sm90.plan"
    assert fp.onnx_object_key("_cache", SHA_A) == f"_cache/onnx/{SHA_A}.onnx"
    assert fp.calibration_object_key("team/_cache", SHA_A) == f"team/_cache/calibration/{SHA_A}.cache"
    assert fp.engine_filename("8.6") == "model.sm86.plan"
