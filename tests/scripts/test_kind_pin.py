"""scripts/tools.lock requires the kind release whose node images the dev stack pins by digest."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.script_sandbox import REPO, Sandbox
from triton_platform.catalog.versions import KIND_DEFAULT_KUBERNETES_VERSION, KIND_NODE_IMAGES, KIND_RELEASE

LOCK = REPO / "scripts" / "tools.lock"


def _kind_rows() -> list[list[str]]:
    rows = [line.split() for line in LOCK.read_text().splitlines() if line.startswith("kind ")]
    assert len(rows) == 4, rows  # one per platform
    return rows


def test_every_kind_row_requires_the_release_of_the_pinned_node_images() -> None:
    rows = _kind_rows()
    assert rows
    for _tool, version, minimum, platform, *_ in rows:
        assert minimum == KIND_RELEASE, (platform, minimum)
        assert tuple(map(int, version.split("."))) >= tuple(map(int, KIND_RELEASE.split("."))), platform


def test_node_images_are_pinned_by_digest_one_per_minor() -> None:
    assert KIND_DEFAULT_KUBERNETES_VERSION in KIND_NODE_IMAGES
    for minor, image in KIND_NODE_IMAGES.items():
        assert re.fullmatch(rf"kindest/node:v{re.escape(minor)}\.\d+@sha256:[0-9a-f]{{64}}", image), image
    assert len(set(KIND_NODE_IMAGES.values())) == len(KIND_NODE_IMAGES)


def test_the_lock_note_cites_the_release_notes_and_the_table() -> None:
    text = LOCK.read_text()
    assert f"kind v{KIND_RELEASE}" in text
    assert "KIND_NODE_IMAGES" in text


@pytest.fixture
def box(tmp_path: Path) -> Sandbox:
    sandbox = Sandbox(tmp_path)
    sandbox.uname("Linux", "x86_64")
    return sandbox


def test_an_older_kind_on_path_is_too_old(box: Sandbox) -> None:
    # kind v0.26.0 shipped the node image pinned before (kindest/node:v1.31.4): no longer enough.
    box.tool("kind", "0.26.0")
    box.standin("curl")
    result = box.run("bash", "scripts/tools.sh", "check", "kind")
    assert result.returncode == 1
    assert f"is older than {KIND_RELEASE}" in result.stderr, result.stderr


def test_the_pinned_kind_is_enough(box: Sandbox) -> None:
    box.tool("kind", KIND_RELEASE)
    result = box.run("bash", "scripts/tools.sh", "check", "kind")
    assert result.returncode == 0, result.stderr
