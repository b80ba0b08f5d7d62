"""The NGC release table (versions.NGC_RELEASES) against Triton's own release tags (docs/integrations.md F-2).

data/triton-server-release-tags.json records, for every release tag of
triton-inference-server/server from v2.49.0 (24.08) to v2.71.0 (26.07), the NGC container
release its build.py names and the Triton server version the tag is (source, snapshot commit
and date inside). The Triton column of our table must match it row by row.

The same file records where TensorRT 11 starts (26.06) and why that matters here: TensorRT 11
removed the weak-typing options (trtexec ``--fp16``, ``--int8``, ``--calib``; BuilderFlag FP16 /
INT8 and the INT8 calibrator) that both engine builders pass for precision fp16 / int8. A row
whose TensorRT is 11 or later may join the table only with a builder that no longer passes them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from triton_platform.catalog.versions import DEFAULT_NGC_RELEASE, NGC_RELEASES, triton_image

DATA = Path(__file__).parent / "data" / "triton-server-release-tags.json"


@pytest.fixture(scope="module")
def recorded() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DATA.read_text())
    return loaded


def test_recording_names_its_source(recorded: dict[str, Any]) -> None:
    assert recorded["source"].startswith("https://github.com/triton-inference-server/server")
    assert "2026-12-06" in recorded["recorded"]
    releases = [r["release"] for r in recorded["releases"]]
    assert releases == sorted(releases)
    assert len(releases) == len(set(releases))
    assert all(len(r["commit"]) == 40 and r["tag"] == "v" + r["triton"] for r in recorded["releases"])


def test_every_row_ships_the_triton_server_its_release_tag_names(recorded: dict[str, Any]) -> None:
    tags = {r["release"]: r["triton"] for r in recorded["releases"]}
    unrecorded = sorted(set(NGC_RELEASES) - set(tags))
    assert not unrecorded, f"NGC releases without a recorded Triton release tag: {unrecorded}"
    wrong = {
        release: (row.triton, tags[release]) for release, row in NGC_RELEASES.items() if row.triton != tags[release]
    }
    assert not wrong, f"NGC release -> (our Triton version, the release tag's): {wrong}"


def test_rows_are_keyed_by_their_release_and_tensorrt_is_major_minor_patch() -> None:
    assert len(NGC_RELEASES) >= 11, "the table lost rows"
    assert [r for r, row in NGC_RELEASES.items() if row.release != r] == []
    bad = [row.tensorrt for row in NGC_RELEASES.values() if not re.fullmatch(r"\d+\.\d+\.\d+", row.tensorrt)]
    assert bad == [], f"TensorRT versions not major.minor.patch: {bad}"


def test_no_row_ships_a_tensorrt_whose_trtexec_lacks_the_options_the_builders_pass(recorded: dict[str, Any]) -> None:
    first_trt11 = recorded["tensorrt_11_from"]["release"]
    assert first_trt11 == "26.06"
    too_new = {r: row.tensorrt for r, row in NGC_RELEASES.items() if int(row.tensorrt.split(".")[0]) >= 11}
    assert not too_new, (
        f"{too_new}: TensorRT 11 removed --fp16/--int8/--calib and BuilderFlag FP16/INT8, which the engine "
        "builders pass; migrate them to strongly typed networks first"
    )
    assert all(release < first_trt11 for release in NGC_RELEASES)


def test_default_release_is_in_the_table() -> None:
    assert DEFAULT_NGC_RELEASE in NGC_RELEASES
    assert triton_image(DEFAULT_NGC_RELEASE) == f"nvcr.io/nvidia/tritonserver:{DEFAULT_NGC_RELEASE}-py3"
