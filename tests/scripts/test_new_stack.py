"""scripts/new_stack.py (`make stack`): a minimal valid stack file per cloud, never over an existing one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from scripts import new_stack
from tests.support.script_sandbox import REPO, load_stack_file

CLOUDS = ["aws", "gcp", "azure"]


@pytest.fixture
def root(tmp_path: Path, samples_built: Path) -> Path:
    """A project folder with the sample model the templates point at."""
    shutil.copytree(samples_built / "sample-mlp", tmp_path / "samples" / "sample-mlp")
    return tmp_path


@pytest.mark.parametrize("cloud", CLOUDS)
def test_each_template_is_valid_and_says_what_to_change(root: Path, cloud: str) -> None:
    path = new_stack.write_stack("team-a", cloud, root)
    text = path.read_text()
    cfg = load_stack_file(path, "team-a", root)
    assert (cfg.cloud, cfg.cluster.name) == (cloud, "triton-team-a")
    assert cfg.models
    assert cfg.cluster.gpu_node_pool is not None
    assert "${" not in text
    assert "# CHANGE" in text
    assert "make validate STACK=team-a" in text
    assert text.startswith('# Stack "team-a" on ')


@pytest.mark.parametrize("cloud", CLOUDS)
def test_templates_are_yaml_with_every_key_in_our_namespace_or_a_provider(cloud: str) -> None:
    config = yaml.safe_load(new_stack.render("x", cloud))["config"]
    assert config["triton-platform:cloud"] == cloud
    assert all(key.startswith("triton-platform:") for key in config)


def test_cluster_names_are_dns_labels_short_enough_for_gke() -> None:
    assert new_stack.cluster_name("Prod_EU.1") == "triton-prod-eu-1"
    long = new_stack.cluster_name("x" * 100)
    assert len(long) <= 40
    assert not long.endswith("-")


def test_an_existing_stack_file_is_never_overwritten(root: Path) -> None:
    (root / "Pulumi.team-a.yaml").write_text("config: {}\n")
    with pytest.raises(new_stack.StackError, match=r"Pulumi\.team-a\.yaml exists already"):
        new_stack.write_stack("team-a", "aws", root)
    assert (root / "Pulumi.team-a.yaml").read_text() == "config: {}\n"


def test_every_problem_with_the_request_is_named_at_once(root: Path) -> None:
    with pytest.raises(new_stack.StackError) as info:
        new_stack.write_stack("a/b", "digitalocean", root)
    message = str(info.value)
    assert "NAME 'a/b' is not a Pulumi stack name" in message
    assert "CLOUD 'digitalocean' is not one of aws, gcp, azure" in message
    assert list(root.glob("Pulumi.*.yaml")) == []


def test_main_exits_non_zero_with_a_message_and_no_traceback(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(new_stack, "REPO", root)
    assert new_stack.main(["--name", "", "--cloud", ""]) == 2
    err = capsys.readouterr().err
    assert err.startswith("no stack file written:")
    assert "Traceback" not in err


def test_main_writes_into_the_repository_root(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(new_stack, "REPO", root)
    assert new_stack.main(["--name", "edge", "--cloud", "GCP"]) == 0
    assert (root / "Pulumi.edge.yaml").is_file()
    assert "wrote Pulumi.edge.yaml" in capsys.readouterr().out


def test_the_example_stacks_are_marked_as_examples() -> None:
    for stack, cloud in (("staging", "gcp"), ("prod", "aws"), ("prod-azure", "azure")):
        head = (REPO / f"Pulumi.{stack}.yaml").read_text().splitlines()[:6]
        assert head[0].startswith("# EXAMPLE STACK:"), stack
        assert any(f"make stack NAME=<name> CLOUD={cloud}" in line for line in head), stack
