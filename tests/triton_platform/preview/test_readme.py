"""docs/pull-request-previews.md (once the README's "Pull requests") shows the comment the command prints."""

from __future__ import annotations

from pathlib import Path

from tests.triton_platform.preview.readme_sample import END, START, between_markers, sample


def test_readme_sample_is_current() -> None:
    readme = (Path(__file__).resolve().parents[3] / "docs" / "pull-request-previews.md").read_text(encoding="utf-8")
    block = between_markers(readme)
    assert block is not None, (
        f"README.md has no {START} ... {END} block: paste the 'Pull requests' section "
        "(regenerate the sample with `python -m tests.triton_platform.preview.readme_sample`)"
    )
    assert block == sample(), (
        "README.md's sample comment is stale: regenerate it with "
        "`python -m tests.triton_platform.preview.readme_sample`"
    )
