"""The documentation stays current: the generated configuration reference, links, the cloud pages' shape.

docs/configuration.md's reference block is generated from the schema's field descriptions
(``python -m triton_platform.config.reference --write``); every relative link of README.md and
docs/ resolves (file and, for a ``#anchor``, a heading of that file); every cloud page has the same
sections; the README stays short and keeps its two commands.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.stacks import REPO
from triton_platform.config import reference

DOCS = REPO / "docs"
PAGES = [REPO / "README.md", *sorted(DOCS.rglob("*.md"))]
CLOUD_PAGES = [DOCS / "clouds" / f"{c}.md" for c in ("aws", "gcp", "azure", "local")]
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def _outside_fences(text: str) -> str:
    return re.sub(r"(?ms)^(`{3,}).*?^\1\s*$", "", text)


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lowercased, punctuation dropped, spaces to '-'."""
    headings = re.findall(r"(?m)^#{1,6} (.+)$", _outside_fences(path.read_text(encoding="utf-8")))
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_the_configuration_reference_is_current() -> None:
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    block = reference.between_markers(page)
    assert block is not None, f"docs/configuration.md has no {reference.START} ... {reference.END} block"
    assert block == reference.generate(), (
        "docs/configuration.md's reference is stale: `python -m triton_platform.config.reference --write`"
    )


def test_every_key_has_a_description() -> None:
    missing = reference.undescribed()
    assert not missing, (
        "keys without description= in triton_platform/config/schema.py or triton_platform/publisher/spec.py "
        f"(the configuration reference says nothing of them): {missing}"
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in _LINK.findall(_outside_fences(page.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z]+:", target):
            continue  # https:, mailto:
        file, _, anchor = target.partition("#")
        dest = (page.parent / file).resolve() if file else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{target}: no heading #{anchor} in {dest.relative_to(REPO)}")
    assert not broken, "\n".join(broken)


def test_every_cloud_page_has_the_same_sections() -> None:
    sections = {
        p.name: re.findall(r"(?m)^## (.+)$", _outside_fences(p.read_text(encoding="utf-8"))) for p in CLOUD_PAGES
    }
    first = sections["aws.md"]
    assert first[:2] == ["What it builds", "Prerequisites"]
    assert all(s == first for s in sections.values()), sections


def test_the_readme_is_short_and_keeps_the_two_commands() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 300
    assert "bash scripts/dev-up.sh        # same as: make dev" in readme
    assert "bash scripts/test.sh          # same as: make test" in readme
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"(?m)^dev:", makefile)
    assert re.search(r"(?m)^test:", makefile)
    for page in ("configuration", "gpus-and-mig", "models-and-releases", "pull-request-previews", "operations"):
        assert f"docs/{page}.md" in readme, page


def test_the_documented_grafana_service_is_the_release_s() -> None:
    from components.monitoring.monitoring import RELEASE_NAME

    text = "\n".join(p.read_text(encoding="utf-8") for p in PAGES)
    services = set(re.findall(r"svc/([\w<>-]+-grafana)", text))
    assert services == {f"{RELEASE_NAME}-grafana"}  # kube-prometheus-stack names it <release>-grafana
