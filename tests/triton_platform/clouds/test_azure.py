"""Triton's Blob Storage condition under canary rollouts, evaluated on the model mirror's own calls.

A canary stack serves each release from ``<cache>/releases/served/<hex>/``; Triton's identity mirrors
it into the pod (``triton_platform/sidecars/azure_model_sync.py``). The role assignment's ABAC
condition (``blob_prefix_condition``) is evaluated with tests/support/azure_abac.py (Microsoft's
condition format and the Blob Storage attributes) on the List Blobs / Get Blob calls the real
``ModelMirror`` makes, and on what must stay refused. Instant stacks keep the one-prefix condition
they had, character for character.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from tests.support.azure_abac import BLOB, BLOB_PATH, LIST_PREFIX, BlobRequest, condition_allows, list_blobs, read_blob
from triton_platform.clouds import azure as az
from triton_platform.publisher.stores.ref import release_location, release_locations_root
from triton_platform.sidecars import azure_model_sync as sync

CONTAINER = "triton-models"
ROOT = release_locations_root("_cache")
HEX = "ab" * 32
LOCATION = release_location("_cache", HEX)
# A release's own repository as the publisher lays it out, and what else lives in the container.
RELEASE = [f"{LOCATION}/mlp/config.pbtxt", f"{LOCATION}/mlp/1/model.onnx", f"{LOCATION}/resnet/1/model.plan"]
ELSEWHERE = [
    "models-old/mlp/config.pbtxt",
    "_cache/engines/resnet/abc/sm80.plan",
    "_cache/onnx/" + "0" * 64 + ".onnx",
    "_cache/releases/" + "c" * 64 + ".json",
    "_cache/releases/served",
    "_cache/releases/served-old/x",
    "secrets/credentials.json",
]
# The condition of an instant stack before canary rollouts existed (triton_platform/clouds/azure.py).
INSTANT_READER = (
    "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'} AND NOT "
    "SubOperationMatches{'Blob.List'})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] "
    "StringEquals 'triton-models' AND @Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] "
    "StringStartsWith 'models/')) AND ((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/"
    "blobs/read'} AND SubOperationMatches{'Blob.List'})) OR (@Resource[Microsoft.Storage/storageAccounts/"
    "blobServices/containers:name] StringEquals 'triton-models' AND @Request[Microsoft.Storage/storageAccounts/"
    "blobServices/containers/blobs:prefix] StringStartsWith 'models/'))"
)


def canary_reader() -> str:
    return az.blob_prefix_condition(CONTAINER, "models", ROOT, write=False)


# --------------------------------------------------------------------------- the evaluator itself


def test_evaluator_follows_the_condition_format() -> None:
    # Microsoft's simple example: read blobs only in a named container; other actions pass.
    example = (
        f"((!(ActionMatches{{'{BLOB}/read'}})) OR "
        "(@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'blobs-example'))"
    )
    assert condition_allows(example, read_blob("blobs-example", "a"))
    assert not condition_allows(example, read_blob("other", "a"))
    assert condition_allows(example, BlobRequest(f"{BLOB}/write", None, {}))
    # An attribute the request does not carry compares false; wildcards match actions.
    absent = "@Request[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:prefix] StringStartsWith 'a/'"
    assert not condition_allows(absent, list_blobs(CONTAINER, None))
    assert condition_allows(absent, list_blobs(CONTAINER, "a/b/"))
    assert condition_allows(f"ActionMatches{{'{BLOB}/*'}}", read_blob(CONTAINER, "x"))
    # Three expressions mixing AND and OR need parentheses, as Azure requires.
    with pytest.raises(ValueError, match="parentheses"):
        condition_allows(f"{absent} AND {absent} OR {absent}", read_blob(CONTAINER, "x"))
    with pytest.raises(ValueError, match="not implemented"):
        condition_allows(absent.replace("StringStartsWith", "StringLike"), read_blob(CONTAINER, "x"))


# --------------------------------------------------------------------------- the mirror's calls


class RecordingSource:
    """A container's blobs, recording each List Blobs / Get Blob the mirror sends as ABAC sees it."""

    def __init__(self, names: list[str]) -> None:
        self.data = {n: n.encode() for n in names}
        self.requests: list[BlobRequest] = []

    def list(self, prefix: str) -> list[sync.RemoteBlob]:
        self.requests.append(list_blobs(CONTAINER, prefix))
        return [
            sync.RemoteBlob(n, len(d), f'"{n}"', base64.b64encode(hashlib.md5(d).digest()).decode())  # noqa: S324
            for n, d in self.data.items()
            if n.startswith(prefix)
        ]

    def download(self, name: str, dest: Path) -> None:
        self.requests.append(read_blob(CONTAINER, name))
        dest.write_bytes(self.data[name])


def mirror_requests(prefix: str, tmp_path: Path) -> list[BlobRequest]:
    source = RecordingSource(RELEASE + ELSEWHERE + ["models/mlp/config.pbtxt"])
    mirror = sync.ModelMirror(source, prefix=prefix, dest=tmp_path / "repository" / prefix, work_dir=tmp_path)
    mirror.sync_once()
    return source.requests


def test_the_mirror_of_a_release_location_lists_and_reads_it_only(tmp_path: Path) -> None:
    reqs = mirror_requests(LOCATION, tmp_path)
    assert [r.request for r in reqs if r.sub_operation == "Blob.List"] == [{LIST_PREFIX: f"{LOCATION}/"}]
    read = {r.resource[BLOB_PATH] for r in reqs if r.sub_operation is None}
    assert read == set(RELEASE)
    denied = [r for r in reqs if not condition_allows(canary_reader(), r)]
    assert denied == []


def test_the_canary_condition_still_admits_the_served_prefix(tmp_path: Path) -> None:
    reqs = mirror_requests("models", tmp_path)
    assert reqs
    assert all(condition_allows(canary_reader(), r) for r in reqs)


@pytest.mark.parametrize("path", ELSEWHERE)
def test_the_canary_condition_refuses_reads_outside_the_prefix_and_the_root(path: str) -> None:
    assert not condition_allows(canary_reader(), read_blob(CONTAINER, path))
    # Nor the release itself in another container.
    assert not condition_allows(canary_reader(), read_blob("other-models", RELEASE[0]))


@pytest.mark.parametrize("prefix", [None, "", "_cache/", "_cache/releases/", "_cache/releases/served", "models"])
def test_the_canary_condition_refuses_listings_above_or_beside_the_root(prefix: str | None) -> None:
    assert not condition_allows(canary_reader(), list_blobs(CONTAINER, prefix))
    assert condition_allows(canary_reader(), list_blobs(CONTAINER, f"{ROOT}/"))


def test_instant_condition_is_unchanged() -> None:
    assert az.blob_prefix_condition(CONTAINER, "models", write=False) == INSTANT_READER
    # Evaluated: the release locations stay out of an instant stack's reach.
    assert not condition_allows(INSTANT_READER, read_blob(CONTAINER, RELEASE[0]))
    assert not condition_allows(INSTANT_READER, list_blobs(CONTAINER, f"{LOCATION}/"))
    assert condition_allows(INSTANT_READER, read_blob(CONTAINER, "models/mlp/config.pbtxt"))


def test_every_folder_of_the_condition_is_checked() -> None:
    with pytest.raises(ValueError, match="not a valid Azure blob"):
        az.blob_prefix_condition(CONTAINER, "models", "_cache/releases/served' OR 'x", write=False)


# --------------------------------------------------------------------------- the mirror's values


def test_release_mirror_keeps_the_container_layout_under_the_mirror_root() -> None:
    root = az.release_mirror(ROOT)
    assert root == f"{az.SYNC_REPOSITORY}/_cache/releases/served"
    # The composition serves <root URI>/<hex>: the very folder the release's mirror fills.
    assert az.release_mirror(LOCATION) == f"{root}/{HEX}"


def test_model_sync_values_mirror_a_location_into_its_folder() -> None:
    values = az.model_sync_values(
        image="img",
        script="pass",
        account="acct",
        container=CONTAINER,
        prefix=LOCATION,
        interval_seconds=15,
        sidecar=False,
        dest=az.release_mirror(LOCATION),
    )
    (init,) = values["extraInitContainers"]
    args = init["args"]
    assert args[args.index("--prefix") + 1] == LOCATION
    assert args[args.index("--dest") + 1] == values["modelRepository"]["uri"] == az.release_mirror(LOCATION)
    assert "--once" in args
    assert values["extraContainers"] == []
    with pytest.raises(ValueError, match="must lie under"):
        az.model_sync_values(
            image="i", script="s", account="a", container=CONTAINER, prefix="m", interval_seconds=1, dest="/tmp/x"
        )
