"""The prefetch copies exactly what Triton serves from the bucket, verified, and leaves nothing half-copied."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.stores import StoreCase, write_file
from triton_platform.publisher.errors import StoreError
from triton_platform.publisher.prefetch import main, prefetch, served_versions
from triton_platform.publisher.publish import publish_version

MakeStore = Callable[..., StoreCase]
MiB = 1024 * 1024


def _config(model: str, versions: list[int]) -> str:
    listed = ", ".join(str(v) for v in versions)
    return f'name: "{model}"\nbackend: "python"\nversion_policy: {{ specific: {{ versions: [ {listed} ] }} }}\n'


def test_served_versions_reads_the_specific_policy() -> None:
    assert served_versions(_config("m", [2, 3])) == [2, 3]
    assert served_versions("version_policy: { specific: { versions: 4 } }") == [4]
    assert served_versions('name: "m"') == []


@pytest.mark.integration
@pytest.mark.parametrize("ranges", [1, 4], ids=["one-get-per-file", "ranged"])
def test_prefetch_copies_the_served_versions_verified(ranges: int, make_store: MakeStore, tmp_path: Path) -> None:
    case = make_store("s3")
    store = case.store
    store.download_concurrency, store.download_part_size = ranges, MiB
    weights = write_file(tmp_path / "src" / "weights.bin", 3 * MiB + 17, seed=1)
    model_py = write_file(tmp_path / "src" / "model.py", 300, seed=2)
    for version in (1, 2):
        publish_version(
            store,
            model="big",
            version=version,
            files={"model.py": model_py, "weights.bin": weights},
            render_config=lambda versions: _config("big", versions),
            served_versions=[version],  # version 2 retires 1 from the config
        )
    publish_version(
        store,
        model="small",
        version=1,
        files={"model.py": model_py},
        render_config=lambda versions: _config("small", versions),
        served_versions=[1],
    )
    dest = tmp_path / "repo"
    result = prefetch(store, dest)
    assert result.models == ["big", "small"]
    files = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert files == [
        "big/2/model.py",
        "big/2/weights.bin",
        "big/config.pbtxt",
        "small/1/model.py",
        "small/config.pbtxt",
    ]
    assert (dest / "big" / "2" / "weights.bin").read_bytes() == weights.read_bytes()
    assert (dest / "big" / "config.pbtxt").read_text() == _config("big", [2])
    assert result.bytes == 2 * 300 + weights.stat().st_size

    # An object whose bytes are not the manifest's: an error naming it, and the old directory stays.
    key = store.ref.served_key("big", "2", "weights.bin")
    store._put_bytes(key, b"x" * (3 * MiB + 17), sha256=hashlib.sha256(b"y").hexdigest(), content_type="b")
    with pytest.raises(StoreError, match=r"weights\.bin.*sha256"):
        prefetch(store, dest)
    assert (dest / "big" / "2" / "weights.bin").read_bytes() == weights.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo", "src"]  # no staging directory left


@pytest.mark.integration
def test_the_command_line_prefetches_a_store(
    make_store: MakeStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = make_store("s3")
    model_py = write_file(tmp_path / "model.py", 100, seed=3)
    publish_version(
        case.store,
        model="m",
        version=1,
        files={"model.py": model_py},
        render_config=lambda versions: _config("m", versions),
        served_versions=[1],
    )
    ref = case.store.ref.model_dump_json(exclude_none=True)
    assert main(["--store", ref, "--dest", str(tmp_path / "out"), "--ranges", "1"]) == 0
    assert (tmp_path / "out" / "m" / "1" / "model.py").read_bytes() == model_py.read_bytes()
    assert "prefetched 1 files" in capsys.readouterr().out
