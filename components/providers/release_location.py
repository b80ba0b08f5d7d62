"""The ReleaseLocation dynamic resource: the release a stack rolls out, copied into its own immutable location.

Under ``triton.rollout.strategy: canary``: after the stack's ReleasePromotion kept (or promoted)
the release, its files are copied on the server into ``<cache>/releases/served/<hex>/``
(triton_platform.release.materialize), verified by sha256, configs last; the canary pods serve
that location while the stable pods keep serving the previous release's. Every other location
is pruned except those of the history's last ``keep`` releases and of the release serving now
(``serving_digest``: the last one a rollout promoted to 100 %, recorded by
``python -m triton_platform.release served``; the stable pods serve it however many canaries
aborted since). Deleting the resource removes every location (the stack went back to ``instant``).

Outputs: ``location`` (the bucket key of the release's repository), ``serving`` (the serving
release's digest, or None before any rollout completed), ``rolling_out`` (``digest`` while it is
not the serving release, else None), ``objects_copied``, ``pruned`` (locations' objects deleted).
``diff`` also reads the bucket's history: when another release became the serving one since the
last run, the resource updates (copying nothing) so the stack exports it.

Dynamic-provider rules as in components/providers/model_version.py: no clients at import time,
no credentials among the inputs, every output declared in the props, props parsed back into the
typed models (protobuf Structs turn every int into a float).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi.dynamic
from pydantic import Field, ValidationError, field_validator

from components.base import ComponentArgs
from components.providers.props import check_parts, parse_store, required, store_arg, store_input, unknown
from triton_platform.publisher import stores
from triton_platform.publisher.errors import PublisherError
from triton_platform.publisher.progress import Progress
from triton_platform.publisher.stores import StoreRef
from triton_platform.publisher.stores.ref import release_locations_root
from triton_platform.publisher.wire import restore_ints
from triton_platform.release.manifest import ReleaseError, digest_hex

# The release work (triton_platform.release.materialize, .promotion) is imported in the provider's
# methods: they run in the provider host, and the Pulumi program that registers the resource
# needs only the resource and its args (bench/program_eval.py).

# Bump when the provider's behaviour changes so every ReleaseLocation runs again.
PROVIDER_VERSION = "1"
INPUT_KEYS = ("digest", "store", "keep", "provider_version")
OUTPUT_KEYS = ("location", "serving", "rolling_out", "objects_copied", "pruned")
# Where the locations are: a change of any of these is another set of locations (``prefix`` is not
# one of them: the locations lie under the cache prefix).
_STORE_IDENTITY = ("kind", "bucket", "cache_prefix", "endpoint_url", "account_url")
_CHANGED = pulumi.dynamic.DiffResult(changes=True, replaces=[], delete_before_replace=False)


def _keep(props: Mapping[str, Any]) -> int:
    return int(restore_ints(props.get("keep") or 5))


def _serving_now(props: Mapping[str, Any]) -> str | None:
    """The bucket's serving release, read for ``diff``; the recorded one when the bucket cannot be read."""
    from triton_platform.release.promotion import read_history, serving_digest

    try:
        return serving_digest(read_history(stores.open_store(parse_store(props["store"]))))
    except (PublisherError, ValidationError, KeyError, OSError):
        return props.get("serving")


class ReleaseLocationProvider(pulumi.dynamic.ResourceProvider):
    """Materializes one release per create/update and prunes the locations no pod may serve any more."""

    serialize_as_secret_always = False

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.CheckResult:
        failures = required(news, ("digest", "store"))
        if failures or unknown(news):
            return pulumi.dynamic.CheckResult(news, failures)
        try:
            digest_hex(str(news["digest"]))
        except ReleaseError as exc:
            failures.append(pulumi.dynamic.CheckFailure("digest", f"digest: {exc}"))
        keep = restore_ints(news.get("keep"))
        if keep is not None and (not isinstance(keep, int) or isinstance(keep, bool) or not 2 <= keep <= 100):
            failures.append(pulumi.dynamic.CheckFailure("keep", f"keep: {keep!r} must be a whole number 2..100 (5)"))
        failures += check_parts(news, {"store": StoreRef})
        return pulumi.dynamic.CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        if unknown({k: news.get(k) for k in INPUT_KEYS}):
            return _CHANGED
        try:
            old, new = parse_store(olds["store"]), parse_store(news["store"])
        except (KeyError, ValidationError):
            return _CHANGED
        replaces = ["store"] if any(getattr(old, f) != getattr(new, f) for f in _STORE_IDENTITY) else []
        changed = bool(replaces) or any(
            restore_ints(olds.get(k)) != restore_ints(news.get(k)) for k in ("digest", "keep", "provider_version")
        )
        if not changed:
            # A rollout completed (or a rollback was rolled out) since: export the release serving now.
            changed = _serving_now({**olds, "store": news["store"]}) != olds.get("serving")
        return pulumi.dynamic.DiffResult(changes=changed, replaces=replaces, stables=[], delete_before_replace=False)

    def _run(self, props: Mapping[str, Any]) -> dict[str, Any]:
        from triton_platform.release.materialize import materialize_release, prune_locations
        from triton_platform.release.promotion import kept_releases, read_history, serving_digest

        digest = str(props["digest"])
        progress = Progress()
        try:
            store = stores.open_store(parse_store(props["store"]))
            done = materialize_release(store, digest, progress=progress)
            history = read_history(store)
            serving = serving_digest(history)
            # The release just materialized, the history's last ``keep``, and the one the stable pods serve.
            keep = [digest, *kept_releases(history, _keep(props)), *([serving] if serving else [])]
            pruned = prune_locations(store, list(dict.fromkeys(keep)), progress=progress)
        except (PublisherError, ReleaseError):
            raise
        except Exception as exc:
            raise PublisherError(
                f"release {digest}: copying it into its own location failed ({type(exc).__name__}: {exc}); "
                "the stable pods keep serving the previous release; fix the cause and run `pulumi up` again"
            ) from exc
        finally:
            progress.close()
        return {
            "location": done.location,
            "serving": serving,
            "rolling_out": digest if digest != serving else None,
            "objects_copied": done.objects_copied,
            "pruned": len(pruned),
        }

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        outs = self._run(props)
        ref = parse_store(props["store"])
        # The id names the root of every location the resource manages.
        resource_id = f"{ref.kind}://{ref.bucket}/{release_locations_root(ref.cache_prefix)}"
        return pulumi.dynamic.CreateResult(resource_id, {**{k: props.get(k) for k in INPUT_KEYS}, **outs})

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        return pulumi.dynamic.UpdateResult({**{k: news.get(k) for k in INPUT_KEYS}, **self._run(news)})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        # Back to instant (or the stack goes): no pod serves a release's own location any more.
        from triton_platform.release.materialize import prune_locations

        progress = Progress()
        try:
            prune_locations(stores.open_store(parse_store(props["store"])), [], progress=progress)
        finally:
            progress.close()


class ReleaseLocationArgs(ComponentArgs):
    """Which release to serve from its own location, in which store (a StoreRef or an Output of one)."""

    # The digest of the release the stack's ReleasePromotion kept or promoted (an Output[str]).
    digest: Any = Field(examples=["sha256:" + "0" * 64])
    store: StoreRef | pulumi.Output[StoreRef]
    # Locations kept besides the serving release's: the history's last ``keep`` (ReleasePromotion's keep).
    keep: int = Field(default=5, ge=2, le=100)

    @field_validator("store", mode="before")
    @classmethod
    def _store(cls, value: Any) -> Any:
        return store_arg(value)

    def props(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "store": store_input(self.store),
            "keep": self.keep,
            "provider_version": PROVIDER_VERSION,
        }


class ReleaseLocation(pulumi.dynamic.Resource, module="triton", name="ReleaseLocation"):
    """The release ``digest`` at ``location`` (a bucket key: ``<cache>/releases/served/<hex>``)."""

    digest: pulumi.Output[str]
    location: pulumi.Output[str]
    serving: pulumi.Output[str | None]
    rolling_out: pulumi.Output[str | None]
    objects_copied: pulumi.Output[int]
    pruned: pulumi.Output[int]

    def __init__(self, name: str, args: ReleaseLocationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        props = args.props()
        props.update(dict.fromkeys(OUTPUT_KEYS))
        super().__init__(ReleaseLocationProvider(), name, props, opts)


__all__ = ["ReleaseLocation", "ReleaseLocationArgs", "ReleaseLocationProvider"]
