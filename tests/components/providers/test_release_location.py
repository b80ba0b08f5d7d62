"""The ReleaseLocation provider, called directly with its props as they cross the wire, against moto.

Create materializes the release the dev stack kept; the next releases add their locations while the
one a rollout promoted to 100 % (``servedAt`` in the history) keeps its location however many newer
releases were kept since (aborted canaries), the others beyond ``keep`` are pruned; ``serving`` and
``rolling_out`` follow the history; diff asks for nothing when nothing changed, an update when
another release became the serving one, a replacement for another bucket; check names a bad input;
delete removes every location. The provider pickles (Pulumi's serialize_provider) without
clients or credentials and unpickles in a fresh interpreter.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pulumi.dynamic
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from components.providers.release_location import ReleaseLocation, ReleaseLocationArgs, ReleaseLocationProvider
from tests.support import servers
from tests.support.dev_stack import DevStack
from tests.support.fakes import wire_floats
from tests.support.providers import unpickled_class
from triton_platform.publisher.stores import open_store
from triton_platform.release.materialize import location_key, locations
from triton_platform.release.promotion import kept_digests, mark_served, read_history, read_release

pytestmark = pytest.mark.integration


def _props(store: dict[str, object], digest: str, keep: int = 5) -> dict[str, Any]:
    return wire_floats(ReleaseLocationArgs(digest=digest, store=store, keep=keep).props())


@pytest.mark.timeout(240)
def test_create_update_prune_keeps_the_serving_release_diff_delete(
    moto_env: servers.S3Endpoint, tmp_path: Path
) -> None:
    dev = DevStack(servers.new_bucket(moto_env), tmp_path / "dev")
    r1 = dev.publish(seed=101)
    store = open_store(dev.store_ref)
    provider = ReleaseLocationProvider()

    p1 = _props(dev.store_ref, r1.digest, keep=2)
    assert not provider.check({}, p1).failures
    outs = provider.create(p1).outs
    assert outs is not None
    assert outs["location"] == location_key(store, r1.digest)
    assert (outs["objects_copied"], outs["pruned"]) == (3, 0)
    assert (outs["serving"], outs["rolling_out"]) == (None, r1.digest)  # no rollout completed yet
    assert not provider.diff("id", outs, p1).changes

    # The rollout promoted r1 to 100 % (`python -m triton_platform.release served`): the next diff updates.
    mark_served(store, r1.digest)
    assert provider.diff("id", outs, p1).changes
    outs = provider.update("id", outs, p1).outs
    assert outs is not None
    assert (outs["serving"], outs["rolling_out"], outs["objects_copied"]) == (r1.digest, None, 0)
    assert not provider.diff("id", outs, p1).changes

    # Five newer releases whose canaries aborted (none marked served): r1 keeps its location, the
    # stable pods serve it; of the others the history's last 2 keep theirs.
    newer = []
    for seed in (202, 303, 404, 505, 606):
        release = dev.publish(seed=seed)
        props = _props(dev.store_ref, release.digest, keep=2)
        assert provider.diff("id", outs, props).changes
        outs = provider.update("id", outs, props).outs
        assert outs is not None
        assert (outs["serving"], outs["rolling_out"]) == (r1.digest, release.digest)
        newer.append(release.digest)
    assert [e.digest for e in read_history(store)] == [*reversed(newer), r1.digest]
    assert locations(store) == sorted([r1.digest, newer[3], newer[4]])
    assert outs["pruned"] == 3  # the location of the third aborted release, when the fifth came
    # The stack's ReleasePromotion (keep 5) keeps r1 too, 6th in its history: it can still be rolled back to.
    assert read_release(store, r1.digest) is not None
    assert kept_digests(store) == sorted([r1.digest, *newer])  # 6 manifests, keep 5: r1 as the serving one

    # A rollback to r1 rolled out again: r1 is rolling out no more.
    back = _props(dev.store_ref, r1.digest, keep=2)
    outs = provider.update("id", outs, back).outs
    assert outs is not None
    assert (outs["location"], outs["serving"], outs["rolling_out"]) == (location_key(store, r1.digest), r1.digest, None)

    # Another bucket is another set of locations: a replacement; another prefix is not.
    other = {**dev.store_ref, "bucket": "another-bucket"}
    assert provider.diff("id", outs, _props(other, r1.digest, keep=2)).replaces == ["store"]
    moved = _props({**dev.store_ref, "prefix": "served"}, r1.digest, keep=2)
    assert provider.diff("id", outs, moved).replaces == []

    # No credential in the props or the outputs.
    assert moto_env.secret_key not in json.dumps([back, outs])

    # Back to instant: every location goes.
    provider.delete("id", outs)
    assert locations(store) == []


def test_check_names_each_bad_input() -> None:
    store = {"kind": "s3", "bucket": "acme-models"}
    provider = ReleaseLocationProvider()
    bad = wire_floats({**ReleaseLocationArgs(digest="sha256:nothex", store=store).props(), "keep": 1})
    failures = provider.check({}, bad).failures
    assert sorted(f.property for f in failures) == ["digest", "keep"]
    assert all(f.reason.startswith(f.property) for f in failures)
    missing = provider.check({}, {"store": store}).failures
    assert [(f.property, f.reason) for f in missing] == [("digest", "digest is required")]
    bad_store = {**ReleaseLocationArgs(digest="sha256:" + "a" * 64, store=store).props(), "store": {"kind": "s3"}}
    assert [f.property for f in provider.check({}, bad_store).failures] == ["store.bucket"]


def test_args_refuse_a_keep_out_of_range() -> None:
    with pytest.raises(ValueError, match="keep"):
        ReleaseLocationArgs(digest="sha256:" + "a" * 64, store={"kind": "s3", "bucket": "acme-models"}, keep=1)


def test_the_provider_pickles_without_clients_and_unpickles_in_a_fresh_interpreter() -> None:
    # A dynamic provider is pickled into the state (dill, by reference to its module): no client, no credential.
    serialized = base64.b64decode(serialize_provider(ReleaseLocationProvider()))
    assert b"boto" not in serialized
    assert b"AWS_SECRET" not in serialized
    loaded = unpickled_class(base64.b64encode(serialized).decode())
    assert loaded == "components.providers.release_location.ReleaseLocationProvider"
    assert issubclass(ReleaseLocation, pulumi.dynamic.Resource)
    # The type the state records (pulumi/dynamic/dynamic.py __init_subclass__): pulumi-python:dynamic/triton:...
    assert ReleaseLocation._resource_type_name == "dynamic/triton:ReleaseLocation"
