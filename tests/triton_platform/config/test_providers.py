"""The providers' own stack keys are the defaults for cluster.region / location / project.

The keys are the providers' documented configuration (``aws:region``, ``gcp:project``,
``gcp:region``, ``gcp:zone``, ``azure-native:location``: see each package's
installation-configuration page in the Pulumi registry); ``load_config`` reads them the way
the engine hands them to the program (``pulumi.runtime.set_all_config``), and a stack that
sets both ours and the provider's to different values is one clear error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import stacks
from tests.support.cloud import build_stack
from tests.support.pulumi_mocks import RecordingMocks
from tests.support.stacks import REPO, drop_key, edited_config, set_key
from triton_platform.config import NAMESPACE, ConfigError, load_config, parse_config


def _install(raw: dict[str, Any], providers: dict[str, str]) -> None:
    import pulumi

    config = {f"{NAMESPACE}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}
    pulumi.runtime.set_all_config({**config, **providers})


def test_gke_stack_with_only_gcp_project_is_accepted(mocks: RecordingMocks, samples_built: Path) -> None:
    # Fails on the old main: cluster.project was required even with gcp:project set.
    raw = edited_config("staging", drop_key("cluster.project"))
    _install(raw, {"gcp:project": "acme-ml-staging"})
    cfg = load_config(REPO)
    assert cfg.cluster.project == "acme-ml-staging"
    built = build_stack(mocks, stacks.build_stack, cfg)
    provider = built.one("pulumi:providers:gcp")
    assert provider.inputs["project"] == "acme-ml-staging"


def test_aws_region_and_gcp_region_fill_in_the_location(mocks: RecordingMocks, samples_built: Path) -> None:
    _install(edited_config("prod", drop_key("cluster.region")), {"aws:region": "eu-west-1"})
    assert load_config(REPO).cluster.region == "eu-west-1"
    _install(edited_config("staging", drop_key("cluster.location")), {"gcp:region": "europe-west4"})
    assert load_config(REPO).cluster.location == "europe-west4"
    # A zone wins over a region for the location: the provider's zone makes a zonal cluster.
    _install(
        edited_config("staging", drop_key("cluster.location")),
        {"gcp:region": "us-central1", "gcp:zone": "us-central1-a"},
    )
    assert load_config(REPO).cluster.location == "us-central1-a"
    _install(edited_config("prod-azure", drop_key("cluster.location")), {"azure-native:location": "westeurope"})
    assert load_config(REPO).cluster.location == "westeurope"


@pytest.mark.parametrize(
    ("stack", "edit", "providers", "key", "names"),
    [
        ("prod", set_key("cluster.region", "us-east-1"), {"aws:region": "eu-west-1"}, "cluster.region", "aws:region"),
        (
            "staging",
            set_key("cluster.project", "acme-ml-staging"),
            {"gcp:project": "other-project"},
            "cluster.project",
            "gcp:project",
        ),
        (
            "staging",
            set_key("cluster.location", "us-central1"),
            {"gcp:region": "europe-west4"},
            "cluster.location",
            "gcp:region",
        ),
        (
            "staging",
            set_key("cluster.location", "us-central1-a"),
            {"gcp:zone": "us-central1-b"},
            "cluster.location",
            "gcp:zone",
        ),
        (
            "staging",
            set_key("cluster.location", "us-central1"),
            {"gcp:zone": "europe-west4-a"},
            "cluster.location",
            "gcp:zone",
        ),
        (
            "prod-azure",
            set_key("cluster.location", "westeurope"),
            {"azure-native:location": "eastus"},
            "cluster.location",
            "azure-native:location",
        ),
    ],
)
def test_our_key_and_the_providers_disagree(
    samples_built: Path, stack: str, edit: Any, providers: dict[str, str], key: str, names: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(edited_config(stack, edit), base_dir=REPO, stack=stack, provider_config=providers)
    err = info.value
    assert f"{NAMESPACE}:{key}" in err.keys, str(err)
    assert names in str(err)
    assert repr(providers[names]) in str(err)  # the example is the provider's value


@pytest.mark.parametrize(
    ("stack", "edit", "providers"),
    [
        ("prod", set_key("cluster.region", "us-east-1"), {"aws:region": "us-east-1"}),
        ("staging", set_key("cluster.location", "us-central1-a"), {"gcp:region": "us-central1"}),
        ("staging", set_key("cluster.location", "us-central1"), {"gcp:zone": "us-central1-c"}),
        ("prod-azure", set_key("cluster.location", "westeurope"), {"azure-native:location": "West Europe"}),
        # Another cloud's provider keys are not ours to read.
        ("prod", set_key("cluster.region", "us-east-1"), {"gcp:region": "europe-west4"}),
    ],
)
def test_agreeing_settings_are_accepted(samples_built: Path, stack: str, edit: Any, providers: dict[str, str]) -> None:
    raw = edited_config(stack, edit)
    cfg = parse_config(raw, base_dir=REPO, stack=stack, provider_config=providers)
    # Our own key wins where both agree: nothing is rewritten.
    assert cfg.cluster.region == raw["cluster"].get("region")
    assert cfg.cluster.location == raw["cluster"].get("location")


def test_missing_everywhere_names_both_ways_to_set_it(samples_built: Path) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(edited_config("prod", drop_key("cluster.region")), base_dir=REPO, stack="prod")
    assert f"{NAMESPACE}:cluster.region" in info.value.keys
    assert "aws:region" in str(info.value)
