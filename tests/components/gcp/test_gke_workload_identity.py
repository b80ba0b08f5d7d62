"""Triton's GCS IAM Condition under canary rollouts, evaluated with the IAM Conditions CEL subset.

A canary stack serves each release from ``<cache>/releases/served/<hex>/``: Triton's objectViewer
condition (``prefix_condition``) admits that root beside ``<prefix>/``, for objects and for listing
(object listing is checked on the bucket, with the list's ``prefix`` as
``storage.googleapis.com/objectListPrefix``). Evaluated by tests/support/gcs_iam.py on the requests
Triton's GCS filesystem makes (core ``src/filesystem/implementations/gcs.h``: lists with a
directory path ending in ``/``, reads objects); instant stacks keep the one-folder condition.
"""

from __future__ import annotations

import pytest

from components.gcp.gke_workload_identity import iam_condition, prefix_condition
from tests.support.gcs_iam import ObjectRequest, condition_allows, object_name
from triton_platform.publisher.stores.ref import release_location, release_locations_root

BUCKET = "acme-models"
ROOT = release_locations_root("_cache")
LOCATION = release_location("_cache", "ab" * 32)
INSTANT = (
    'resource.name.startsWith("projects/_/buckets/acme-models/objects/models/") || '
    'api.getAttribute("storage.googleapis.com/objectListPrefix", "").startsWith("models/")'
)


def get(name: str) -> ObjectRequest:
    return ObjectRequest("storage.objects.get", object_name(BUCKET, name))


def listing(prefix: str) -> ObjectRequest:
    # Checked on the bucket, not on an object.
    return ObjectRequest("storage.objects.list", f"projects/_/buckets/{BUCKET}", list_prefix=prefix)


def triton_requests(repository: str) -> list[ObjectRequest]:
    """What Triton's GCS filesystem asks for to load one model of ``repository``."""
    return [
        listing(f"{repository}/"),
        listing(f"{repository}/mlp/"),
        get(f"{repository}/mlp/config.pbtxt"),
        listing(f"{repository}/mlp/1/"),
        get(f"{repository}/mlp/1/model.onnx"),
    ]


def test_instant_condition_is_unchanged() -> None:
    assert prefix_condition(BUCKET, "models") == INSTANT
    assert iam_condition(BUCKET, "models") == {
        "title": "only models/",
        "description": f"objects under gs://{BUCKET}/models/ and listing them",
        "expression": INSTANT,
    }
    assert not any(condition_allows(INSTANT, r) for r in triton_requests(LOCATION))


def test_canary_condition_admits_triton_on_a_release_location_and_the_prefix() -> None:
    cond = prefix_condition(BUCKET, "models", ROOT)
    for req in [*triton_requests(LOCATION), *triton_requests("models")]:
        assert condition_allows(cond, req), req
    assert iam_condition(BUCKET, "models", ROOT)["title"] == "only models/ and _cache/releases/served/"


@pytest.mark.parametrize(
    "name",
    [
        "_cache/engines/resnet/abc/sm80.plan",
        "_cache/releases/" + "c" * 64 + ".json",
        "_cache/releases/served",
        "_cache/releases/served-old/x",
        "models-old/mlp/config.pbtxt",
        "secrets/key.json",
    ],
)
def test_canary_condition_refuses_objects_outside_the_prefix_and_the_root(name: str) -> None:
    assert not condition_allows(prefix_condition(BUCKET, "models", ROOT), get(name))
    assert not condition_allows(
        prefix_condition(BUCKET, "models", ROOT), ObjectRequest("storage.objects.get", object_name("other", LOCATION))
    )


@pytest.mark.parametrize("prefix", ["", "_cache/", "_cache/releases/", "_cache/releases/served", "models"])
def test_canary_condition_refuses_listing_above_or_beside_the_root(prefix: str) -> None:
    assert not condition_allows(prefix_condition(BUCKET, "models", ROOT), listing(prefix))


def test_every_folder_is_checked() -> None:
    with pytest.raises(ValueError, match="must match"):
        prefix_condition(BUCKET, "models", '_cache") || true || ("')


def test_canary_condition_stays_within_the_logical_operator_limit() -> None:
    # IAM Conditions accept at most 12 logical operators per expression (IAM Conditions, limits).
    expression = prefix_condition(BUCKET, "models", ROOT)
    operators = expression.count("||") + expression.count("&&") + expression.count("!")
    assert operators == 3
    assert operators <= 12
